// The pruning masks against their definitions, computed here by brute force
// with plain loops: magnitude and Wanda, a ratio per row and N:M, linear and
// convolution layers; and the sequential variant (the second layer is
// calibrated on what the pruned first layer outputs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, Linear, Module, manualSeed, noGrad, randn, tensor, type Tensor } from '../../src/engine/index.js';
import { findPrunableLayers, pruneLayers } from '../../src/compress/prune-module.js';
import { parseSparsity, type Sparsity } from '../../src/compress/mask.js';

/** Brute force: weight (r, c) is pruned iff fewer than k weights of its row score strictly lower (scores distinct). */
function expectedRatioMask(scores: number[][], ratio: number): number[] {
  const out: number[] = [];
  for (const row of scores) {
    const k = Math.floor(ratio * row.length);
    for (const s of row) out.push(row.filter((t) => t < s).length < k ? 0 : 1);
  }
  return out;
}

/** Brute force N:M over columns (i * spatial + s): within each group of M inputs, the M - N lowest go. */
function expectedNmMask(scores: number[][], n: number, m: number, spatial: number): number[] {
  const out: number[] = [];
  for (const row of scores) {
    for (let c = 0; c < row.length; c++) {
      const input = Math.floor(c / spatial), s = c % spatial;
      const group = Array.from({ length: m }, (_, j) => row[(input - (input % m) + j) * spatial + s]!);
      out.push(group.filter((t) => t < row[c]!).length < m - n ? 0 : 1);
    }
  }
  return out;
}

const expectedMask = (scores: number[][], s: Sparsity, spatial: number): number[] =>
  s.kind === 'ratio' ? expectedRatioMask(scores, s.ratio) : expectedNmMask(scores, s.n, s.m, spatial);

function rowsOf(flat: number[], rows: number): number[][] {
  const cols = flat.length / rows;
  return Array.from({ length: rows }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
}

const maskOf = (weight: Tensor): number[] => weight.toArray().map((v) => (v === 0 ? 0 : 1));

/** ||X_j||_2 of a linear layer's input x [N, in], by loops. */
function linearNorms(x: number[], n: number, features: number): number[] {
  return Array.from({ length: features }, (_, j) => Math.sqrt(Array.from({ length: n }, (_, i) => x[i * features + j]! ** 2).reduce((a, b) => a + b, 0)));
}

/** ||X_col||_2 for the unfolded columns (c, a, b) of a convolution's input x [N, C, H, W], by loops. */
function convNorms(x: number[], [N, C, H, W]: number[], k: number, stride: number, pad: number): number[] {
  const outH = Math.floor((H! + 2 * pad - k) / stride) + 1, outW = Math.floor((W! + 2 * pad - k) / stride) + 1;
  const norms: number[] = [];
  for (let c = 0; c < C!; c++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    let sum = 0;
    for (let i = 0; i < N!; i++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
      const y = oy * stride + a - pad, xx = ox * stride + b - pad;
      if (y >= 0 && y < H! && xx >= 0 && xx < W!) sum += x[((i * C! + c) * H! + y) * W! + xx]! ** 2;
    }
    norms.push(Math.sqrt(sum));
  }
  return norms;
}

const SPARSITIES = ['0.5', '0.3', '0.75', '2:4', '4:8', '1:4'].map(parseSparsity);

test('linear layer: magnitude and wanda masks equal the brute-force definition, ratio and N:M', () => {
  for (const sparsity of SPARSITIES) {
    for (const method of ['magnitude', 'wanda'] as const) {
      manualSeed(3);
      const layer = new Linear(16, 6);
      const x = randn([20, 16]).mul(randn([1, 16]).abs().add(0.1)); // features of different scales, so wanda differs from magnitude
      const w = layer.weight.toArray(), xs = x.toArray();
      const norms = linearNorms(xs, 20, 16);
      const scores = rowsOf(w.map((v, i) => Math.abs(v) * (method === 'wanda' ? norms[i % 16]! : 1)), 6);
      const results = pruneLayers([{ name: 'fc', layer }], { method, sparsity, calibration: [() => { layer.forward(x); }] });
      assert.deepEqual(maskOf(layer.weight), expectedMask(scores, sparsity, 1), `${method} ${JSON.stringify(sparsity)}`);
      const zeros = maskOf(layer.weight).filter((v) => v === 0).length;
      assert.equal(results[0]!.pruned, zeros);
      assert.equal(zeros, sparsity.kind === 'ratio' ? 6 * Math.floor(sparsity.ratio * 16) : 6 * 16 * (sparsity.m - sparsity.n) / sparsity.m);
    }
  }
});

test('wanda and magnitude choose differently when input norms differ', () => {
  manualSeed(4);
  const a = new Linear(16, 6), b = new Linear(16, 6);
  noGrad(() => b.weight.copy_(a.weight));
  const x = randn([20, 16]).mul(tensor(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1000 : 0.001)), [1, 16]));
  pruneLayers([{ name: 'a', layer: a }], { method: 'magnitude', sparsity: parseSparsity('0.5') });
  pruneLayers([{ name: 'b', layer: b }], { method: 'wanda', sparsity: parseSparsity('0.5'), calibration: [() => { b.forward(x); }] });
  assert.notDeepEqual(maskOf(a.weight), maskOf(b.weight));
  // Inputs 10^6 x larger survive: wanda keeps exactly the even columns.
  assert.deepEqual(maskOf(b.weight), Array.from({ length: 96 }, (_, i) => (i % 2 === 0 ? 1 : 0)));
});

test('convolution: wanda scores columns of the unfolded input (channel, kernel row, kernel column), with padding and stride', () => {
  for (const sparsity of SPARSITIES.filter((s) => s.kind === 'ratio' || s.m === 4)) {
    manualSeed(5);
    const conv = new Conv2d(8, 3, 3, { stride: 2, padding: 1 });
    const shape = [2, 8, 5, 5];
    const x = randn(shape).mul(randn([1, 8, 1, 1]).abs().add(0.1));
    const norms = convNorms(x.toArray(), shape, 3, 2, 1);
    const scores = rowsOf(conv.weight.toArray().map((v, i) => Math.abs(v) * norms[i % 72]!), 3);
    // Calibrated over two batches: the norms add up.
    const halves = [x.narrow(0, 0, 1), x.narrow(0, 1, 1)];
    pruneLayers([{ name: 'conv', layer: conv }], { method: 'wanda', sparsity, calibration: halves.map((h) => () => { conv.forward(h); }) });
    assert.deepEqual(maskOf(conv.weight), expectedMask(scores, sparsity, 9), JSON.stringify(sparsity));
  }
});

class TwoLayers extends Module {
  // Declared second-first: the pruner must follow the forward order, not the field order.
  readonly second = new Linear(12, 4);
  readonly first = new Linear(8, 12);
  forward(x: Tensor): Tensor {
    return this.second.forward(this.first.forward(x).relu());
  }
}

test('sequential wanda: the second layer is calibrated on the outputs of the already pruned first layer', () => {
  manualSeed(6);
  const net = new TwoLayers();
  const x = randn([32, 8]);
  const sparsity = parseSparsity('0.5');
  const denseHidden = net.first.forward(x).relu().toArray();
  const secondWeights = net.second.weight.toArray();
  const order: string[] = [];
  pruneLayers(findPrunableLayers(net), { method: 'wanda', sparsity, calibration: [() => { net.forward(x); }], onLayer: (r) => order.push(r.name) });
  assert.deepEqual(order, ['first', 'second']);
  const prunedHidden = net.first.forward(x).relu().toArray();
  const scoresWith = (hidden: number[]) => rowsOf(secondWeights.map((v, i) => Math.abs(v) * linearNorms(hidden, 32, 12)[i % 12]!), 4);
  const expected = expectedMask(scoresWith(prunedHidden), sparsity, 1);
  assert.deepEqual(maskOf(net.second.weight), expected);
  assert.notDeepEqual(expectedMask(scoresWith(denseHidden), sparsity, 1), expected, 'this case must tell the two variants apart');
});

test('one-forward wanda gives the same masks as re-running the forward per layer; a layer called twice falls back to the per-layer runs', () => {
  class ConvNet extends Module {
    readonly conv = new Conv2d(3, 8, 3, { padding: 1 });
    readonly fc = new Linear(8, 8);
    readonly head = new Linear(8, 4);
    constructor(readonly shareFc: boolean) { super(); }
    forward(x: Tensor): Tensor {
      const pooled = this.conv.forward(x).relu().mean([2, 3]); // [N, 8]
      const hidden = this.fc.forward(pooled).relu();
      return this.head.forward(this.shareFc ? this.fc.forward(hidden).relu() : hidden);
    }
  }
  for (const shareFc of [false, true]) {
    for (const sparsity of ['0.5', '2:4'].map(parseSparsity)) {
      manualSeed(11);
      const a = new ConvNet(shareFc), b = new ConvNet(shareFc);
      noGrad(() => { for (const [name, t] of a.namedParameters()) b.stateDict().get(name)!.copy_(t); });
      const x = randn([6, 3, 5, 5]);
      const order = (net: ConvNet, onePass: boolean): string[] => {
        const names: string[] = [];
        pruneLayers(findPrunableLayers(net), { method: 'wanda', sparsity, onePass, calibration: [() => { net.forward(x); }], onLayer: (r) => names.push(r.name) });
        return names;
      };
      assert.deepEqual(order(a, true), order(b, false));
      for (const name of ['conv', 'fc', 'head'] as const) assert.deepEqual(a[name].weight.toArray(), b[name].weight.toArray(), `${name} (shared fc: ${shareFc})`);
    }
  }
});

test('depthwise convolutions stay dense unless asked; N:M that does not divide the inputs leaves a layer dense with the reason', () => {
  class Net extends Module {
    readonly depthwise = new Conv2d(4, 4, 3, { groups: 4 });
    readonly stem = new Conv2d(3, 4, 3);
  }
  const net = new Net();
  assert.deepEqual(findPrunableLayers(net).map((l) => l.name), ['stem']);
  assert.deepEqual(findPrunableLayers(net, { includeGrouped: true }).map((l) => l.name), ['depthwise', 'stem']);
  const [result] = pruneLayers(findPrunableLayers(net), { method: 'magnitude', sparsity: parseSparsity('2:4') });
  assert.match(result!.skipped ?? '', /3 inputs per output to be divisible by 4/);
  assert.equal(maskOf(net.stem.weight).filter((v) => v === 0).length, 0);
});

test('bad sparsity, N:M and method are one clear line each', () => {
  assert.throws(() => parseSparsity('1'), /sparsity must be in \[0, 1\)/);
  assert.throws(() => parseSparsity('-0.1'), /sparsity must be in \[0, 1\)/);
  assert.throws(() => parseSparsity('4:4'), /N must be below M/);
  assert.throws(() => parseSparsity('half'), /expected a sparsity ratio/);
  assert.throws(() => pruneLayers([], { method: 'random' as 'wanda', sparsity: parseSparsity('0.5') }), /unknown pruning method "random"/);
  assert.throws(() => pruneLayers([{ name: 'fc', layer: new Linear(4, 4) }], { method: 'wanda', sparsity: parseSparsity('0.5') }), /calibration batches/);
});
