// F.channelAffine (the addon's fused per-channel affine with a clamp) against
// its definition and against the ATen composition it replaces (addcmul, then
// relu6 / a clamp), values and gradients; and BatchNorm2d.forwardClamped,
// which uses it for norms with running statistics, against the standard ops
// it stands for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, F, manualSeed, noGrad, rand, randn, tensor, tidy, withTracer, type Tensor } from '../../src/engine/index.js';
import { assertClose, gradcheck, spread } from './helpers.js';

const values = (t: Tensor): number[] => Array.from(t.toArray() as ArrayLike<number>);

/** The definition, by loops over logical indices: clamp(x[n, c, p] * scale[r(n), c] + shift[r(n), c]). */
function naive(x: Tensor, scale: Tensor, shift: Tensor, min = -Infinity, max = Infinity): number[] {
  const [n, c] = x.shape as [number, number];
  const spatial = x.numel / (n * c);
  const xs = values(x.contiguous()), ss = values(scale), bs = values(shift);
  const rows = scale.ndim === 1 ? 1 : scale.size(0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const r = rows === 1 ? 0 : i;
      for (let p = 0; p < spatial; p++) out.push(Math.min(Math.max(xs[(i * c + k) * spatial + p]! * ss[r * c + k]! + bs[r * c + k]!, min), max));
    }
  }
  return out;
}

test('channelAffine: values of [C], [1, C] and [N, C] rows, with and without bounds, NCHW and channels-last', () => {
  manualSeed(1);
  const x = randn([3, 4, 5, 6]);
  const cases: [Tensor, Tensor][] = [[randn([4]), randn([4])], [randn([1, 4]), randn([1, 4])], [randn([3, 4]), randn([3, 4])]];
  for (const [scale, shift] of cases) {
    for (const bounds of [{}, { min: 0 }, { max: 0.3 }, { min: 0, max: 6 }, { min: -0.5, max: 0.5 }]) {
      const expected = naive(x, scale, shift, bounds.min, bounds.max);
      for (const input of [x, x.contiguous('channels-last')]) {
        const y = F.channelAffine(input, scale, shift, bounds);
        assert.deepEqual(y.shape, [3, 4, 5, 6]);
        assertClose(values(y.contiguous()), expected, 1e-6, `scale [${scale.shape}], bounds ${JSON.stringify(bounds)}`);
      }
    }
  }
  // Other ranks: [N, C] and [N, C, L].
  const flat = randn([3, 4]), seq = randn([2, 4, 7]);
  assertClose(values(F.channelAffine(flat, cases[2]![0], cases[2]![1])), naive(flat, cases[2]![0], cases[2]![1]), 1e-6, '[N, C]');
  assertClose(values(F.channelAffine(seq, cases[0]![0], cases[0]![1], { min: 0 })), naive(seq, cases[0]![0], cases[0]![1], 0), 1e-6, '[N, C, L]');
});

test('channelAffine: keeps channels-last layout; a strided input or mixed dtypes take the ATen path, same values', () => {
  manualSeed(2);
  const x = randn([2, 3, 4, 4]).contiguous('channels-last');
  const scale = randn([2, 3]), shift = randn([2, 3]);
  assert.ok(F.channelAffine(x, scale, shift).isContiguous('channels-last'));
  const strided = randn([2, 3, 4, 4]).transpose(2, 3);
  assert.ok(!strided.isContiguous() && !strided.isContiguous('channels-last'));
  assertClose(values(F.channelAffine(strided, scale, shift, { min: 0, max: 1 }).contiguous()), naive(strided, scale, shift, 0, 1), 1e-6, 'strided');
  const mixed = F.channelAffine(x.to('float64'), scale, shift); // the ATen path promotes
  assertClose(values(mixed.contiguous()), naive(x, scale, shift), 1e-6, 'float64 x, float32 rows');
});

test('gradients of channelAffine (float64, every row shape and layout, with and without bounds)', () => {
  // Bounds away from the values' kinks: spread() never lands within 1e-6 of them.
  const x = spread([3, 2, 3, 2]);
  for (const [s, b] of [[spread([2], 10), spread([2], 20)], [spread([1, 2], 30), spread([1, 2], 40)], [spread([3, 2], 50), spread([3, 2], 60)]]) {
    for (const bounds of [{}, { min: -0.41 }, { min: -0.37, max: 0.63 }]) {
      const name = `[${s!.shape}] ${JSON.stringify(bounds)}`;
      gradcheck(`channelAffine ${name}`, (a, p, q) => F.channelAffine(a!, p!, q!, bounds), [x, s!, b!]);
      gradcheck(`channelAffine channels-last ${name}`, (a, p, q) => F.channelAffine(a!.contiguous('channels-last'), p!, q!, bounds), [x, s!, b!]);
    }
  }
  gradcheck('channelAffine of a generated row', (a, h) => F.channelAffine(a!, h!.mul(2).add(1), h!.unary('sin')), [x, spread([3, 2], 70)]);
});

/** x, scale, shift as leaves; the loss's gradients of those that require them. */
function gradsOf(fn: (x: Tensor, s: Tensor, b: Tensor) => Tensor, inputs: Tensor[], weight: Tensor, needs = [true, true, true]): (number[] | null)[] {
  return tidy(() => {
    const leaves = inputs.map((t, i) => {
      const leaf = t.detach().clone(); // keeps channels-last
      leaf.requiresGrad = needs[i]!;
      return leaf;
    });
    fn(leaves[0]!, leaves[1]!, leaves[2]!).mul(weight).sum().backward();
    return leaves.map((l) => (l.grad === null ? null : values(l.grad.contiguous())));
  });
}

test('channelAffine: values and gradients equal addcmul then relu6 / clamp (float32, channels-last, 1e-5)', () => {
  manualSeed(3);
  const x = randn([8, 16, 5, 5]).mul(4).contiguous('channels-last');
  const scale = rand([8, 16]).add(0.5), shift = randn([8, 16]);
  const weight = randn([8, 16, 5, 5]);
  const composed = (a: Tensor, s: Tensor, b: Tensor) => F.addcmul(b.reshape([8, 16, 1, 1]), a, s.reshape([8, 16, 1, 1]));
  const pairs: [string, (a: Tensor, s: Tensor, b: Tensor) => Tensor, (a: Tensor, s: Tensor, b: Tensor) => Tensor][] = [
    ['relu6', (a, s, b) => F.channelAffine(a, s, b, { min: 0, max: 6 }), (a, s, b) => composed(a, s, b).relu6()],
    ['relu', (a, s, b) => F.channelAffine(a, s, b, { min: 0 }), (a, s, b) => composed(a, s, b).relu()],
    ['none', (a, s, b) => F.channelAffine(a, s, b), composed],
  ];
  for (const [name, fused, reference] of pairs) {
    assertClose(values(noGrad(() => fused(x, scale, shift)).contiguous()), values(noGrad(() => reference(x, scale, shift)).contiguous()), 1e-6, `${name} values`);
    const got = gradsOf(fused, [x, scale, shift], weight), want = gradsOf(reference, [x, scale, shift], weight);
    got.forEach((g, i) => assertClose(g!, want[i]!, 1e-5, `${name} gradient of input ${i}`));
  }
});

test('channelAffine: no gradient where the output sits at a bound (hardtanh\'s rule), and only the gradients asked for', () => {
  // z = x * 1 + 0: exactly 0 and exactly 6 are at the bounds of relu6.
  const x = tensor([-1, 0, 3, 6, 7, 2], [1, 1, 2, 3]);
  const grads = gradsOf((a, s, b) => F.channelAffine(a, s, b, { min: 0, max: 6 }), [x, tensor([1]), tensor([0])], tensor([1, 1, 1, 1, 1, 1], [1, 1, 2, 3]));
  assert.deepEqual(grads[0], [0, 0, 1, 0, 0, 1]);
  assert.deepEqual(grads[1], [5]); // 3 + 2
  assert.deepEqual(grads[2], [2]);
  const onlyScale = gradsOf((a, s, b) => F.channelAffine(a, s, b), [x, tensor([2]), tensor([1])], x, [false, true, false]);
  assert.deepEqual(onlyScale, [null, [1 + 9 + 36 + 49 + 4], null]);
  const onlyInput = gradsOf((a, s, b) => F.channelAffine(a, s, b, { min: 0 }), [x, tensor([2]), tensor([1])], x, [true, false, false]);
  assert.deepEqual(onlyInput, [[0, 0, 6, 12, 14, 4], null, null]);
});

test('channelAffine: rows that fit neither [C], [1, C] nor [N, C], and min above max, are clear errors', () => {
  const x = randn([3, 2, 2, 2]);
  assert.throws(() => F.channelAffine(x, randn([2, 2]), randn([2, 2])), /scale must be \[C\], \[1, C\] or \[N, C\] with N = 3 and C = 2/);
  assert.throws(() => F.channelAffine(x, randn([3]), randn([3])), /scale must be/);
  assert.throws(() => F.channelAffine(x, randn([3, 2]), randn([1, 2])), /same rows/);
  assert.throws(() => F.channelAffine(x, randn([2]), randn([2]), { min: 1, max: 0 }), /min 1 is above max 0/);
  assert.throws(() => F.channelAffine(randn([4]), randn([4]), randn([4])), /must be \[N, C, \.\.\.\]/);
});

/** The standard ops forwardClamped stands for: forward() then relu6. */
const standard = (bn: BatchNorm2d) => (x: Tensor, s: Tensor, b: Tensor): Tensor => bn.forward(x, s, b).relu6();
const clamped = (bn: BatchNorm2d) => (x: Tensor, s: Tensor, b: Tensor): Tensor => bn.forwardClamped(x, { min: 0, max: 6 }, s, b)!;

test('BatchNorm2d.forwardClamped equals forward() then relu6 with running statistics (frozen identity, frozen, eval); null with batch statistics', () => {
  manualSeed(4);
  const x = randn([6, 5, 4, 4]).mul(3).contiguous('channels-last');
  const weight = randn([6, 5, 4, 4]);
  const frozen = new BatchNorm2d(5, 0, 0, true); // an imported network's norm: mean 0, variance 1, eps 0
  const stats = new BatchNorm2d(5, 1e-3, 0.1, true);
  noGrad(() => { stats.runningMean.copy_(randn([5])); stats.runningVar.copy_(rand([5]).add(0.5)); });
  const evaluated = new BatchNorm2d(5);
  noGrad(() => { evaluated.runningMean.copy_(randn([5])); evaluated.runningVar.copy_(rand([5]).add(0.5)); });
  evaluated.eval();
  const rows = (n: number): [Tensor, Tensor] => [rand([n, 5]).add(0.5), randn([n, 5])];
  for (const [name, bn] of [['frozen identity', frozen], ['frozen statistics', stats], ['eval', evaluated]] as const) {
    for (const [s, b] of [rows(6), rows(1), [rand([5]).add(0.5), randn([5])] as [Tensor, Tensor]]) {
      const what = `${name}, scale [${s.shape}]`;
      assertClose(values(noGrad(() => clamped(bn)(x, s, b)).contiguous()), values(noGrad(() => standard(bn)(x, s, b)).contiguous()), 1e-5, `${what} values`);
      const got = gradsOf(clamped(bn), [x, s, b], weight), want = gradsOf(standard(bn), [x, s, b], weight);
      got.forEach((g, i) => assertClose(g!, want[i]!, 1e-5, `${what}: gradient of input ${i}`));
    }
  }
  // forward() with per-sample rows takes the same fused op (no clamp): the standard ops' values, as recorded under a tracer.
  const [s, b] = rows(6);
  const traced = withTracer({ record: () => {} }, () => frozen.forward(x, s, b));
  assertClose(values(frozen.forward(x, s, b).contiguous()), values(traced.contiguous()), 1e-6, 'forward per-sample');
  // Batch statistics keep batch norm + addcmul (PyTorch's ops, for bitwise parity of training steps).
  const trained = new BatchNorm2d(5);
  for (const [p, q] of [rows(6), rows(1), [rand([5]).add(0.5), randn([5])] as [Tensor, Tensor]]) assert.equal(trained.forwardClamped(x, { min: 0, max: 6 }, p, q), null);
});

test('BatchNorm2d.forwardClamped is null under a tracer (which records the standard ops) and without a clamp on [C] parameters', () => {
  const bn = new BatchNorm2d(2, 0, 0, true);
  const x = randn([2, 2, 3, 3]);
  assert.equal(withTracer({ record: () => {} }, () => bn.forwardClamped(x, { min: 0 }, randn([2, 2]), randn([2, 2]))), null);
  assert.equal(bn.forwardClamped(x, {}), null);
  assert.notEqual(bn.forwardClamped(x, { min: 0 }), null);
});
