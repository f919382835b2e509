# Can a 256-wide cosine embedding hold what the pretrained ImageNet head knows?
# Reads the head (W [1000, F], b [1000]) and pooled features of Tiny ImageNet
# val images written by experiments/head-capacity.ts, and prints, as JSON, the
# head's top-1 among Tiny ImageNet's classes under each restriction that the
# HyperCLIP text side works within: no bias, unit-norm class vectors (cosine),
# a rank-k head (truncated SVD), and features projected on their top-k
# principal directions (the best k-wide linear image embedding for them).
import json, sys
import torch

folder = sys.argv[1]
torch.set_num_threads(1)
meta = json.load(open(f'{folder}/meta.json'))
read = lambda name, shape: torch.frombuffer(bytearray(open(f'{folder}/{name}', 'rb').read()), dtype=torch.float32).reshape(shape).double()
W = read('head-weight.f32', (meta['classes'], meta['features']))
b = read('head-bias.f32', (meta['classes'],))
F = read('features.f32', (meta['images'], meta['features']))
labels = torch.tensor(meta['labels'])
imagenet = torch.tensor(meta['imagenetIndexOfClass'])

def top1(weight, bias, features):
    logits = features @ weight[imagenet].T + (0 if bias is None else bias[imagenet])
    return (logits.argmax(1) == labels).double().mean().item()

unit = lambda w: w / w.norm(dim=1, keepdim=True)
rows = {'full head': top1(W, b, F), 'no bias': top1(W, None, F), 'unit class vectors, no bias': top1(unit(W), None, F)}
U, S, V = torch.linalg.svd(W, full_matrices=False)
centred = F - F.mean(0)
values, vectors = torch.linalg.eigh(centred.T @ centred)
vectors = vectors[:, values.argsort(descending=True)]
for k in meta['ranks']:
    Wk = (U[:, :k] * S[:k]) @ V[:k]
    rows[f'rank-{k} head (truncated SVD)'] = top1(Wk, b, F)
    P = vectors[:, :k]
    rows[f'features on their top {k} principal directions, unit class vectors, no bias'] = top1(unit(W @ P), None, F @ P)
print(json.dumps(rows))
