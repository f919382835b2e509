"""PyTorch side of `npm run bench:engine`: the same models, data and loop as
bench/engine.ts, timed the same way. Prints one JSON object on stdout.
The ImageNet MobileNet v2 rows (mobilenet_v2.py) run in --serve mode only,
built from the spec bench/engine.ts sends.

Run with Debian's python (/usr/bin/python3, python3-torch 1.13):
  /usr/bin/python3 bench/reference/engine.py --threads 2 --warmup 3 --steps 10
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from mobilenet_v2 import MobileNetSession
from timed_session import TimedSession

BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 2), (6, 96, 3, 1)]


def conv_bn(cin, cout, kernel, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        layers = [conv_bn(3, 32, 3)]
        cin = 32
        for t, c, n, s in BLOCKS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(1280, classes)

    def forward(self, x):
        x = self.features(x)  # [B, 1280, 4, 4]
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # [B, 1280]
        return self.head(x)


class Block(nn.Module):
    def __init__(self, width, heads, ffn):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, ffn)
        self.down = nn.Linear(ffn, width)

    def attention(self, x, mask):
        b, t, d = x.shape
        hd = d // self.heads
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, hd).permute(2, 0, 3, 1, 4)  # [3, B, H, T, hd]
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q.matmul(k.transpose(-2, -1)).mul(1 / math.sqrt(hd)).add(mask)  # [B, H, T, T]
        out = scores.softmax(-1).matmul(v)  # [B, H, T, hd]
        return self.proj(out.transpose(1, 2).reshape(b, t, d))

    def forward(self, x, mask):
        x = x + self.attention(self.ln1(x), mask)
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class Transformer(nn.Module):
    def __init__(self, vocab, seq, width=256, heads=4, ffn=1024, layers=4):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Parameter(torch.randn(seq, width) * 0.02)
        self.blocks = nn.ModuleList([Block(width, heads, ffn) for _ in range(layers)])
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)
        self.register_buffer('mask', torch.full((seq, seq), float('-inf')).triu(1))

    def forward(self, ids):
        x = self.tokens(ids) + self.positions  # [B, T, D]
        for block in self.blocks:
            x = block(x, self.mask)
        return self.head(self.ln(x))  # [B, T, V]


class TrainingSession(TimedSession):
    """A model, its fixed batch and its optimiser, kept between timed rounds."""

    def __init__(self, name, args):
        torch.manual_seed(0)
        if name == 'transformer':
            self.model = Transformer(args.vocab, args.seq)
            self.inputs = torch.randint(0, args.vocab, (args.batch, args.seq))  # [B, T]
            self.targets = torch.randint(0, args.vocab, (args.batch * args.seq,))  # [B*T]
            self.loss_fn = lambda logits, t: F.cross_entropy(logits.reshape(-1, args.vocab), t)
        elif name in ('cnn_contiguous', 'cnn_channels_last'):
            self.model = MobileNetV2()
            self.inputs = torch.randn(args.batch, 3, 32, 32)  # [B, 3, 32, 32]
            self.targets = torch.randint(0, 10, (args.batch,))
            self.loss_fn = F.cross_entropy
            if name == 'cnn_channels_last':
                self.model = self.model.to(memory_format=torch.channels_last)
                self.inputs = self.inputs.contiguous(memory_format=torch.channels_last)
        else:
            raise SystemExit('unknown benchmark %r: expected cnn_contiguous, cnn_channels_last or transformer' % name)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.inputs), self.targets)
        loss.backward()
        self.optimizer.step()
        return loss


def run_training(name, args):
    session = TrainingSession(name, args)
    for _ in range(args.warmup):
        session.step()
    return {'step_seconds': session.time(args.steps), 'loss': session.loss()}


def bench_dispatch(iterations):
    a, b = torch.ones(1), torch.ones(1)
    for _ in range(1000):
        c = a + b
    start = time.perf_counter()
    for _ in range(iterations):
        c = a + b
        del c
    return (time.perf_counter() - start) / iterations * 1e6


def serve(args):
    """One JSON request per line on stdin, one JSON answer per line on stdout,
    until stdin closes: {"open": name, "warmup": w} builds a session and runs
    w warm-up steps (default --warmup), a MobileNet v2 row from its "spec" (see
    mobilenet_v2.py), whose answer holds its parameter count; {"time": name, "steps": k} times k more steps, {"close": name} answers
    the final loss, {"dispatch": n} times the small-op loop. The caller
    interleaves its own runs between requests; this process sits blocked on
    stdin meanwhile, so the two never compute at the same time."""
    sessions = {}
    print(json.dumps({'ready': True, 'threads': torch.get_num_threads(), 'torch': torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if 'open' in request:
            name = request['open']
            spec = request.get('spec')
            sessions[name] = TrainingSession(name, args) if spec is None else MobileNetSession(spec)
            for _ in range(request.get('warmup', args.warmup)):
                sessions[name].step()
            answer = {} if spec is None else {'parameters': sessions[name].parameter_count()}
        elif 'time' in request:
            answer = {'step_seconds': sessions[request['time']].time(request['steps'])}
        elif 'close' in request:
            answer = {'loss': sessions.pop(request['close']).loss()}
        else:
            answer = {'us': bench_dispatch(request['dispatch'])}
        print(json.dumps(answer), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, required=True)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--seq', type=int, default=16)
    parser.add_argument('--vocab', type=int, default=512)
    parser.add_argument('--dispatch-iterations', type=int, default=100000)
    parser.add_argument('--only', default='cnn_contiguous,cnn_channels_last,transformer,dispatch')
    parser.add_argument('--serve', action='store_true', help='answer JSON requests on stdin (used by bench/engine.ts)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.serve:
        return serve(args)
    result = {'threads': torch.get_num_threads(), 'torch': torch.__version__}
    for name in args.only.split(','):
        result[name] = {'us': bench_dispatch(args.dispatch_iterations)} if name == 'dispatch' else run_training(name, args)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
