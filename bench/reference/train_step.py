"""K training steps of our HyperClip in plain PyTorch, as src/train/train-step.ts
trainStep does them: trainingLoss, backward, clip the joint gradient norm,
AdamW (betas 0.9/0.98, eps 1e-6, no decay on tensors with < 2 dims).

Inputs are files our engine wrote: the resolved model config (JSON), the
initial weights (safetensors, our names) and the batches (safetensors:
images float32 [K, B, 3, H, W], ids int64 [K, B, T]). Prints one JSON object:
per-step loss, grad norm and seconds.

  /usr/bin/python3 bench/reference/train_step.py --config c.json --weights w.safetensors \
      --batches b.safetensors --lrs '[0.001, 0.002]' --threads 2
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hyperclip_torch import HyperClip, load_safetensors, save_safetensors, weight_decay_groups  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--config', required=True, help='resolved ModelConfig JSON file')
    p.add_argument('--weights', required=True, help='initial state dict (safetensors, our names)')
    p.add_argument('--batches', required=True, help='safetensors with images [K,B,3,H,W] and ids [K,B,T]')
    p.add_argument('--lrs', required=True, help='JSON list of the learning rate of each step (its length is K)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--grad-clip', type=float, default=1.0)
    p.add_argument('--out-weights', help='write the state dict after each listed step here (see --save-after)')
    p.add_argument('--save-after', type=int, default=0, help='step after which --out-weights is written (0: after the last)')
    p.add_argument('--grads-out', help='write the raw (unclipped) gradients of step 1 here')
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        config = json.load(f)
    lrs = json.loads(args.lrs)
    weights, _ = load_safetensors(args.weights)
    batches, _ = load_safetensors(args.batches)
    images, ids = batches['images'], batches['ids']
    if images.shape[0] < len(lrs) or ids.shape[0] < len(lrs):
        raise SystemExit(f'{len(lrs)} learning rates but only {images.shape[0]} batches')

    model = HyperClip(config)
    model.load_ours(weights)
    model.train()
    # Built after load_ours, whose channels-last conversion replaces the conv weights' storage.
    optimizer = torch.optim.AdamW(weight_decay_groups(model, args.weight_decay), lr=lrs[0], betas=(0.9, 0.98), eps=1e-6,
                                  foreach=False)
    params = [q for q in model.parameters()]
    save_after = args.save_after or len(lrs)

    losses, norms, seconds = [], [], []
    for k, lr in enumerate(lrs):
        for g in optimizer.param_groups:
            g['lr'] = lr
        started = time.perf_counter()
        loss = model.training_loss(images[k], ids[k])
        loss.backward()
        value = loss.item()
        if k == 0 and args.grads_out:
            save_safetensors(args.grads_out, {n: q.grad for n, q in model.named_parameters() if q.grad is not None})
        norm = torch.nn.utils.clip_grad_norm_(params, args.grad_clip).item()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - started)
        losses.append(value)
        norms.append(norm)
        if args.out_weights and k + 1 == save_after:
            save_safetensors(args.out_weights, model.our_state_dict())

    print(json.dumps({'threads': torch.get_num_threads(), 'torch': torch.__version__, 'loss': losses, 'grad_norm': norms,
                      'step_seconds': seconds, 'batch': int(images.shape[1])}))


if __name__ == '__main__':
    main()
