// Optimiser steps against values computed by hand (and by a plain-number
// reference of the published update rules), state dicts and gradient clipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, SGD, clipGradNorm, decodeSafetensors, encodeSafetensors, tensor, type Tensor } from '../../src/engine/index.js';
import { assertClose } from './helpers.js';

const param = (values: number[]): Tensor => {
  const t = tensor(values, undefined, { dtype: 'float64' });
  t.requiresGrad = true;
  return t;
};
const setGrad = (p: Tensor, values: number[]): void => {
  p.grad = tensor(values, undefined, { dtype: 'float64' });
};

/** AdamW as published (decoupled decay), on plain numbers; mutates state. */
function adamwReference(p: number[], g: number[], s: { m: number[]; v: number[]; t: number }, lr: number, wd: number,
  b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  s.t++;
  return p.map((x, i) => {
    s.m[i] = b1 * s.m[i]! + (1 - b1) * g[i]!;
    s.v[i] = b2 * s.v[i]! + (1 - b2) * g[i]! ** 2;
    const mHat = s.m[i]! / (1 - b1 ** s.t), vHat = s.v[i]! / (1 - b2 ** s.t);
    return x * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
  });
}

test('AdamW: two hand-computed steps with a constant gradient', () => {
  const p = param([1]);
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.01 });
  setGrad(p, [0.5]);
  opt.step();
  // Decay 1 -> 0.999, then m^ = 0.5, v^ = 0.25, so the step is 0.1 * 0.5 / (0.5 + 1e-8).
  assertClose(p.toArray(), [0.999 - 0.1 * 0.5 / (0.5 + 1e-8)], 1e-12);
  opt.step();
  assertClose(p.toArray(), [0.899 * 0.999 - 0.1], 1e-8);
  assert.equal(opt.stepCount, 2);
});

test('AdamW: varied gradients, with and without weight decay, lr changing between steps', () => {
  for (const wd of [0, 0.05]) {
    const start = [0.3, -1.2, 2];
    const p = param(start);
    const opt = new AdamW([p], { lr: 0.01, weightDecay: wd, betas: [0.8, 0.99], eps: 1e-6 });
    const state = { m: [0, 0, 0], v: [0, 0, 0], t: 0 };
    let expected = start;
    const grads = [[0.1, -2, 0.5], [-0.3, 1, 0], [0.2, 0.2, -4]];
    const lrs = [0.01, 0.03, 0.002];
    grads.forEach((g, i) => {
      opt.lr = lrs[i]!;
      setGrad(p, g);
      opt.step();
      expected = adamwReference(expected, g, state, lrs[i]!, wd, 0.8, 0.99, 1e-6);
      assertClose(p.toArray(), expected, 1e-12, `wd ${wd} step ${i + 1}`);
    });
  }
});

test('AdamW: per-group weight decay; parameters without a gradient are left alone', () => {
  const decayed = param([1, 2]), plain = param([1, 2]), idle = param([5]);
  const opt = new AdamW([{ params: [decayed] }, { params: [plain, idle], weightDecay: 0 }], { lr: 0.1, weightDecay: 0.5 });
  setGrad(decayed, [1, -1]);
  setGrad(plain, [1, -1]);
  opt.step();
  const step = 0.1 / (1 + 1e-8);
  assertClose(decayed.toArray(), [1 * 0.95 - step, 2 * 0.95 + step], 1e-12);
  assertClose(plain.toArray(), [1 - step, 2 + step], 1e-12);
  assertClose(idle.toArray(), [5], 0);
});

test('AdamW works on float32 parameters', () => {
  const p = tensor([1]);
  p.requiresGrad = true;
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0 });
  p.grad = tensor([-3]);
  opt.step();
  assertClose(p.toArray(), [1.1], 1e-6);
});

/** SGD as torch.optim.SGD (no dampening), on plain numbers; mutates the buffer. */
function sgdReference(p: number[], g: number[], buf: number[] | null, lr: number, momentum: number, wd: number, nesterov: boolean) {
  const d = g.map((x, i) => x + wd * p[i]!);
  const b = buf === null ? d : buf.map((x, i) => momentum * x + d[i]!);
  const u = momentum === 0 ? d : nesterov ? d.map((x, i) => x + momentum * b[i]!) : b;
  return { p: p.map((x, i) => x - lr * u[i]!), buf: b };
}

test('SGD: plain, momentum, nesterov, weight decay, changing lr', () => {
  const configs = [
    { momentum: 0, nesterov: false, wd: 0 },
    { momentum: 0.9, nesterov: false, wd: 0 },
    { momentum: 0.9, nesterov: true, wd: 0 },
    { momentum: 0.5, nesterov: true, wd: 0.1 },
  ];
  for (const c of configs) {
    const p = param([1, -2]);
    const opt = new SGD([p], { lr: 0.1, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.wd });
    let ref = { p: [1, -2], buf: null as number[] | null };
    const grads = [[1, 2], [0.5, -1], [-2, 0]];
    grads.forEach((g, i) => {
      opt.lr = [0.1, 0.2, 0.05][i]!;
      setGrad(p, g);
      opt.step();
      ref = sgdReference(ref.p, g, ref.buf, opt.lr, c.momentum, c.wd, c.nesterov);
      assertClose(p.toArray(), ref.p, 1e-12, `${JSON.stringify(c)} step ${i + 1}`);
    });
  }
});

test('SGD with momentum: two hand-computed steps', () => {
  const p = param([1]);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  setGrad(p, [1]);
  opt.step(); // buf = 1, p = 0.9
  setGrad(p, [1]);
  opt.step(); // buf = 1.9, p = 0.71
  assertClose(p.toArray(), [0.71], 1e-12);
});

test('clipGradNorm returns the total norm and scales only when above the limit', () => {
  const a = param([0, 0]), b = param([0]);
  setGrad(a, [3, 0]);
  setGrad(b, [4]);
  assert.equal(clipGradNorm([a, b], 10), 5);
  assertClose(a.grad!.toArray(), [3, 0], 0);
  const norm = clipGradNorm([a, b], 1);
  assertClose(norm, 5, 1e-12);
  assertClose(a.grad!.toArray(), [0.6, 0], 1e-6);
  assertClose(b.grad!.toArray(), [0.8], 1e-6);
  assertClose(clipGradNorm([a, b], 100), 1, 1e-5);
  const none = param([1]);
  assert.equal(clipGradNorm([none], 1), 0, 'no gradients: norm 0');
});

test('zeroGrad drops every gradient', () => {
  const a = param([1]), b = param([2]);
  const opt = new SGD([{ params: [a] }, { params: [b] }], { lr: 1 });
  a.mul(b).sum().backward();
  assert.notEqual(a.grad, null);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  assert.equal(b.grad, null);
  opt.step();
  assertClose(a.toArray(), [1], 0, 'a step without gradients changes nothing');
});

test('optimiser state dict, saved and loaded, reproduces the next step exactly', () => {
  for (const make of [(p: Tensor[]) => new AdamW(p, { lr: 0.05 }), (p: Tensor[]) => new SGD(p, { lr: 0.05, momentum: 0.9 })]) {
    const a = param([1, 2, 3]);
    const optA = make([a]);
    for (const g of [[1, -1, 0.5], [0.2, 0.3, -2]]) {
      setGrad(a, g);
      optA.step();
    }
    optA.lr = 0.02;
    const saved = optA.stateDict();
    const file = decodeSafetensors(Buffer.concat(encodeSafetensors(saved.tensors)));
    const b = param(a.toArray());
    const optB = make([b]);
    optB.loadStateDict({ step: saved.step, lr: saved.lr, tensors: file.tensors });
    assert.equal(optB.stepCount, 2);
    assert.equal(optB.lr, 0.02);
    setGrad(a, [0.7, -0.1, 1]);
    setGrad(b, [0.7, -0.1, 1]);
    optA.step();
    optB.step();
    assert.deepEqual(b.toArray(), a.toArray());
    const fresh = make([param([1, 2, 3])]);
    assert.throws(() => fresh.loadStateDict({ step: 1, lr: 1, tensors: new Map() }), /missing 0\.0\./);
  }
});

test('optimisers reject bad settings', () => {
  assert.throws(() => new AdamW([param([1])], { lr: -1 }), /non-negative learning rate/);
  assert.throws(() => new SGD([], { lr: 0.1 }), /no parameters/);
});

test('AdamW on a channels-last parameter matches the contiguous one', () => {
  const values = Array.from({ length: 16 }, (_, i) => Math.sin(i));
  const grads = Array.from({ length: 16 }, (_, i) => Math.cos(3 * i));
  const plain = tensor(values, [1, 4, 2, 2], { dtype: 'float64' });
  const last = plain.contiguous('channels-last');
  const results = [plain, last].map((p) => {
    p.requiresGrad = true;
    const opt = new AdamW([p], { lr: 0.1 });
    for (let i = 0; i < 2; i++) {
      p.grad = tensor(grads, [1, 4, 2, 2], { dtype: 'float64' });
      opt.step();
    }
    return p.toArray();
  });
  assert.ok(last.isContiguous('channels-last'), 'the step keeps the layout');
  assert.deepEqual(results[1], results[0]);
});
