// Neural-network operations against hand-computed values and naive loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, F, arange, manualSeed, ones, randn, tensor, zeros, type Tensor } from '../../src/engine/index.js';
import { assertClose, assertTensor, f64 } from './helpers.js';

const seq = (shape: number[], start = 0): Tensor =>
  arange(start, start + shape.reduce((a, b) => a * b, 1), 1, { dtype: 'float32' }).reshape(shape);
const idx = (values: number[] | number[][]): Tensor => tensor(values, undefined, { dtype: 'int64' });

/** Direct loops over the definition of a grouped, strided, padded, dilated 2-D convolution. */
function naiveConv2d(x: Tensor, w: Tensor, stride: number, padding: number, dilation: number, groups: number): number[] {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const xs = x.toArray(), ws = w.toArray();
  const oh = Math.floor((h + 2 * padding - dilation * (kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((wd + 2 * padding - dilation * (kw - 1) - 1) / stride) + 1;
  const out: number[] = [];
  for (let b = 0; b < n; b++) for (let oc = 0; oc < o; oc++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const g = Math.floor(oc / (o / groups));
    let s = 0;
    for (let ic = 0; ic < cg; ic++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const y = i * stride - padding + u * dilation, xx = j * stride - padding + v * dilation;
      if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
      s += xs[((b * c + g * cg + ic) * h + y) * wd + xx]! * ws[((oc * cg + ic) * kh + u) * kw + v]!;
    }
    out.push(s);
  }
  void c;
  return out;
}

test('conv2d: hand-computed 3x3 input with a 2x2 kernel, bias, stride and padding', () => {
  const x = seq([1, 1, 3, 3], 1);
  const w = ones([1, 1, 2, 2]);
  assertTensor(F.conv2d(x, w), [1, 1, 2, 2], [12, 16, 24, 28]);
  assertTensor(F.conv2d(x, w, tensor([1])), [1, 1, 2, 2], [13, 17, 25, 29]);
  assertTensor(F.conv2d(x, w, null, { stride: 2, padding: 1 }), [1, 1, 2, 2], [1, 5, 11, 28]);
  // Depthwise 3x3 of ones with padding 1 counts the neighbours inside the image.
  assertTensor(F.conv2d(ones([1, 2, 3, 3]), ones([2, 1, 3, 3]), null, { padding: 1, groups: 2 }), [1, 2, 3, 3],
    [4, 6, 4, 6, 9, 6, 4, 6, 4, 4, 6, 4, 6, 9, 6, 4, 6, 4]);
  // Depthwise 1x1 scales each channel by its own weight.
  assertTensor(F.conv2d(seq([1, 2, 1, 2], 1), tensor([2, -1]).reshape([2, 1, 1, 1]), null, { groups: 2 }), [1, 2, 1, 2], [2, 4, -3, -4]);
});

test('conv2d matches direct loops for strides, paddings, dilations and groups', () => {
  manualSeed(3);
  const configs = [
    { c: 3, o: 4, k: 3, stride: 1, padding: 1, dilation: 1, groups: 1 },
    { c: 4, o: 6, k: 3, stride: 2, padding: 1, dilation: 1, groups: 2 },
    { c: 4, o: 4, k: 3, stride: 1, padding: 2, dilation: 2, groups: 4 },
    { c: 2, o: 3, k: [1, 3], stride: 2, padding: 0, dilation: 1, groups: 1 },
  ];
  for (const cfg of configs) {
    const [kh, kw] = typeof cfg.k === 'number' ? [cfg.k, cfg.k] : cfg.k;
    const x = randn([2, cfg.c, 5, 6], { dtype: 'float64' });
    const w = randn([cfg.o, cfg.c / cfg.groups, kh!, kw!], { dtype: 'float64' });
    const y = F.conv2d(x, w, null, { stride: cfg.stride, padding: cfg.padding, dilation: cfg.dilation, groups: cfg.groups });
    assertClose(y.toArray(), naiveConv2d(x, w, cfg.stride, cfg.padding, cfg.dilation, cfg.groups), 1e-10, JSON.stringify(cfg));
  }
});

test('batchNorm in training normalises with batch statistics and updates running stats', () => {
  // One channel holding 1, 2, 3, 4: mean 2.5, biased var 1.25, unbiased var 5/3.
  const x = f64([1, 2, 3, 4]).reshape([2, 1, 1, 2]);
  const mean = zeros([1], { dtype: 'float64' }), variance = ones([1], { dtype: 'float64' });
  const y = F.batchNorm(x, mean, variance, f64([2]), f64([0.5]), { training: true, momentum: 0.1, eps: 1e-5 });
  const s = Math.sqrt(1.25 + 1e-5);
  assertTensor(y, [2, 1, 1, 2], [1, 2, 3, 4].map((v) => (2 * (v - 2.5)) / s + 0.5), 1e-12);
  assertTensor(mean, [1], [0.25], 1e-12);
  assertTensor(variance, [1], [0.9 + 0.1 * (5 / 3)], 1e-12);
  F.batchNorm(x, mean, variance, null, null, { training: true, momentum: 0.5 });
  assertTensor(mean, [1], [0.5 * 0.25 + 0.5 * 2.5], 1e-12);
});

test('batchNorm in eval uses the running stats and leaves them alone', () => {
  const x = f64([1, 2, 3, 4]).reshape([1, 2, 1, 2]);
  const mean = f64([1, 2]), variance = f64([4, 0.25]);
  const y = F.batchNorm(x, mean, variance, f64([1, 3]), f64([0, -1]), { training: false, eps: 0 });
  assertTensor(y, [1, 2, 1, 2], [0, 0.5, 3 * 2 - 1, 3 * 4 - 1], 1e-12);
  assertTensor(mean, [2], [1, 2]);
  assertTensor(variance, [2], [4, 0.25]);
});

test('BatchNorm2d: train updates running stats, eval uses them, per-sample scale and shift', () => {
  const bn = new BatchNorm2d(2);
  const x = seq([2, 2, 1, 1]); // channel 0: 0, 2; channel 1: 1, 3
  const train = bn.forward(x);
  assertClose(train.toArray(), [-1, -1, 1, 1], 1e-4);
  assertClose(bn.runningMean.toArray(), [0.1, 0.2], 1e-6);
  assertClose(bn.runningVar.toArray(), [0.9 + 0.1 * 2, 0.9 + 0.1 * 2], 1e-6);
  bn.eval();
  const evalOut = bn.forward(x);
  assertClose(evalOut.toArray(), [-0.1, 0.8, 1.9, 2.8].map((v) => v / Math.sqrt(1.1 + 1e-5)), 1e-6);
  bn.train();
  const perSample = bn.forward(x, tensor([[1, 2], [3, 4]]), tensor([[0, 0], [10, 20]]));
  assertClose(perSample.toArray(), [-1, -2, 3 + 10, 4 + 20], 1e-4);
  const shared = bn.forward(x, tensor([2, 3]), tensor([1, 1]));
  assertClose(shared.toArray(), [-1, -2, 3, 4], 1e-4);
});

test('layerNorm and groupNorm', () => {
  const x = f64([[1, 2, 3, 4]]);
  const s = Math.sqrt(1.25 + 1e-5);
  assertTensor(F.layerNorm(x, [4]), [1, 4], [-1.5, -0.5, 0.5, 1.5].map((v) => v / s), 1e-12);
  assertTensor(F.layerNorm(x, [4], f64([1, 2, 1, 2]), f64([0, 0, 1, 1])), [1, 4], [-1.5 / s, -1 / s, 0.5 / s + 1, 3 / s + 1], 1e-12);
  const g = Math.sqrt(0.25 + 1e-5);
  assertTensor(F.groupNorm(x.reshape([1, 4, 1, 1]), 2), [1, 4, 1, 1], [-0.5 / g, 0.5 / g, -0.5 / g, 0.5 / g], 1e-12);
  assertTensor(F.groupNorm(x.reshape([1, 4, 1, 1]), 1, f64([1, 1, 1, 2]), f64([0, 0, 0, 1])), [1, 4, 1, 1],
    [-1.5 / s, -0.5 / s, 0.5 / s, 3 / s + 1], 1e-12);
});

test('linear, matmul (2-D, batched, vector), bmm', () => {
  const w = tensor([[1, 2], [3, 4], [5, 6]]);
  assertTensor(F.linear(tensor([[1, 2]]), w, tensor([1, 1, 1])), [1, 3], [6, 12, 18]);
  assertTensor(F.linear(tensor([[[1, 2]], [[0, 1]]]), w), [2, 1, 3], [5, 11, 17, 2, 4, 6]);
  const a = tensor([[1, 2], [3, 4]]);
  assertTensor(a.matmul(tensor([[5, 6], [7, 8]])), [2, 2], [19, 22, 43, 50]);
  assertTensor(F.matmul(tensor([1, 2]), tensor([3, 4])), [], [11]);
  assertTensor(a.matmul(tensor([1, 1])), [2], [3, 7]);
  assertTensor(seq([2, 2, 3]).matmul(tensor([[1], [0], [-1]])), [2, 2, 1], [-2, -2, -2, -2]);
  assertTensor(F.bmm(tensor([[[1, 2]], [[3, 4]]]), tensor([[[1], [1]], [[2], [0]]])), [2, 1, 1], [3, 6]);
});

test('embedding looks rows up by int64 or int32 indices', () => {
  const w = seq([3, 2]);
  assertTensor(F.embedding(w, idx([[2, 0]])), [1, 2, 2], [4, 5, 0, 1]);
  assertTensor(F.embedding(w, tensor([1], undefined, { dtype: 'int32' })), [1, 2], [2, 3]);
});

test('dropout: zeroes about p and scales the rest by 1/(1-p) in training; identity in eval', () => {
  manualSeed(5);
  const x = ones([4000]);
  const y = F.dropout(x, 0.25, true).toArray();
  const zeroed = y.filter((v) => v === 0).length;
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6), 'values are 0 or 1/(1-p)');
  assertClose(zeroed / 4000, 0.25, 0.03, 'fraction dropped');
  manualSeed(5);
  assert.deepEqual(F.dropout(x, 0.25, true).toArray(), y, 'seeded dropout repeats');
  assert.deepEqual(F.dropout(x, 0.25, false).toArray(), x.toArray());
  assert.deepEqual(F.dropout(x, 0, true).toArray(), x.toArray());
});

test('softmax and logSoftmax along a dim', () => {
  const x = f64([[1, 2, 3], [0, 0, 0]]);
  const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
  assertTensor(F.softmax(x), [2, 3], [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z, 1 / 3, 1 / 3, 1 / 3], 1e-12);
  assertTensor(F.logSoftmax(x), [2, 3], [1, 2, 3].map((v) => v - Math.log(z)).concat([0, 0, 0].map(() => -Math.log(3))), 1e-12);
  assertTensor(F.softmax(f64([[1, 0], [1, 0]]), 0), [2, 2], [0.5, 0.5, 0.5, 0.5], 1e-12);
  assertTensor(F.softmax(f64([1000, 0])), [2], [1, 0], 1e-12);
});

test('crossEntropy: mean, sum, none, and label smoothing', () => {
  const logits = f64([[1, 2, 3], [1, 1, 1]]);
  const targets = idx([2, 0]);
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const losses = [lse - 3, Math.log(3)];
  assertTensor(F.crossEntropy(logits, targets, { reduction: 'none' }), [2], losses, 1e-12);
  assertTensor(F.crossEntropy(logits, targets), [], [(losses[0]! + losses[1]!) / 2], 1e-12);
  assertTensor(F.crossEntropy(logits, targets, { reduction: 'sum' }), [], [losses[0]! + losses[1]!], 1e-12);
  // With smoothing e: (1 - e) * nll + e * mean over classes of -log p.
  const e = 0.1;
  const uniform0 = [1, 2, 3].reduce((s, v) => s + (lse - v), 0) / 3;
  const smoothed = [(1 - e) * losses[0]! + e * uniform0, Math.log(3)];
  assertTensor(F.crossEntropy(logits, targets, { labelSmoothing: e, reduction: 'none' }), [2], smoothed, 1e-12);
});

test('adaptiveAvgPool2d, avgPool2d, maxPool2d', () => {
  const x = seq([1, 1, 4, 4]);
  assertTensor(F.adaptiveAvgPool2d(x, 2), [1, 1, 2, 2], [2.5, 4.5, 10.5, 12.5]);
  assertTensor(F.adaptiveAvgPool2d(x, 1), [1, 1, 1, 1], [7.5]);
  // 3 -> 2 uses overlapping bins [0, 2) and [1, 3).
  assertTensor(F.adaptiveAvgPool2d(seq([1, 1, 3, 3]), [2, 2]), [1, 1, 2, 2], [2, 3, 5, 6]);
  assertTensor(F.avgPool2d(x, 2), [1, 1, 2, 2], [2.5, 4.5, 10.5, 12.5]);
  // Padding counts as zeros in the average (count_include_pad).
  assertTensor(F.avgPool2d(ones([1, 1, 2, 2]), 2, 1, 1), [1, 1, 3, 3], [0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25]);
  assertTensor(F.maxPool2d(x, 2), [1, 1, 2, 2], [5, 7, 13, 15]);
  assertTensor(F.maxPool2d(x, 3, 1), [1, 1, 2, 2], [10, 11, 14, 15]);
  assertTensor(F.maxPool2d(x.neg(), 2, 2, 1), [1, 1, 3, 3], [-0, -1, -3, -4, -5, -7, -12, -13, -15]);
});

test('interpolate: nearest and bilinear with and without aligned corners', () => {
  const x = seq([1, 1, 2, 2]); // [[0, 1], [2, 3]]
  assertTensor(F.interpolate(x, [4, 4], 'nearest'), [1, 1, 4, 4], [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]);
  assertTensor(F.interpolate(x, [3, 3], 'bilinear', true), [1, 1, 3, 3], [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
  const r = [0, 0.25, 0.75, 1];
  assertTensor(F.interpolate(x, [4, 4]), [1, 1, 4, 4], r.flatMap((ri) => r.map((cj) => 2 * ri + cj)));
});

test('normalize divides by the L2 norm and keeps zero vectors finite', () => {
  assertTensor(F.normalize(tensor([[3, 4], [0, 0]])), [2, 2], [0.6, 0.8, 0, 0]);
  assertTensor(F.normalize(tensor([[3, 0], [4, 0]]), 0), [2, 2], [0.6, 0, 0.8, 0]);
});

test('crossEntropy accepts class probabilities shaped like the logits', () => {
  const logits = f64([[1, 2, 3], [0, 1, 0]]);
  const hard = F.crossEntropy(logits, idx([2, 1]));
  const soft = F.crossEntropy(logits, f64([[0, 0, 1], [0, 1, 0]]));
  assertClose(soft.item(), hard.item(), 1e-12);
});
