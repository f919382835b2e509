// Creation, dtypes, data transfer and seeded random numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arange, full, getRngState, manualSeed, ones, rand, randint, randn, randperm, setRngState, tensor, zeros, zerosLike, onesLike,
} from '../../src/engine/index.js';
import { assertClose, assertTensor } from './helpers.js';

test('tensor() from nested arrays infers the shape and defaults to float32', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.equal(t.ndim, 2);
  assert.equal(t.numel, 6);
  assert.equal(t.size(-1), 3);
  assert.deepEqual(t.toArray(), [1, 2, 3, 4, 5, 6]);
  assert.ok(t.data() instanceof Float32Array);
  assert.equal(t.toString(), 'Tensor(shape=[2,3], dtype=float32)');
});

test('tensor() from a typed array with an explicit shape, and scalars', () => {
  assertTensor(tensor(new Float32Array([1, 2, 3, 4]), [2, 2]), [2, 2], [1, 2, 3, 4]);
  const s = tensor(2.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 2.5);
  assert.equal(tensor([7]).item(), 7);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.deepEqual(tensor(new Float32Array(0), [0, 3]).shape, [0, 3]);
});

test('zeros, ones, full, zerosLike, onesLike', () => {
  assertTensor(zeros([2, 2]), [2, 2], [0, 0, 0, 0]);
  assertTensor(ones([3]), [3], [1, 1, 1]);
  assertTensor(full([2], -1.5), [2], [-1.5, -1.5]);
  const i = full([2, 1], 7, { dtype: 'int32' });
  assert.equal(i.dtype, 'int32');
  assert.deepEqual(Array.from(i.data() as Int32Array), [7, 7]);
  const z = zerosLike(i);
  assert.equal(z.dtype, 'int32');
  assert.deepEqual(z.shape, [2, 1]);
  assertTensor(onesLike(tensor([[1, 2]])), [1, 2], [1, 1]);
  assert.equal(ones([1], { dtype: 'bool' }).dtype, 'bool');
});

test('arange: int64 by default, float steps on request', () => {
  const a = arange(0, 5);
  assert.equal(a.dtype, 'int64');
  assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(arange(2, -3, -2).toArray(), [2, 0, -2]);
  const f = arange(0, 1, 0.25, { dtype: 'float64' });
  assert.equal(f.dtype, 'float64');
  assert.deepEqual(f.toArray(), [0, 0.25, 0.5, 0.75]);
  const inferred = arange(0.5, 2);
  assert.equal(inferred.dtype, 'float32', 'a fractional bound or step gives float32');
  assert.deepEqual(inferred.toArray(), [0.5, 1.5]);
  assert.deepEqual(arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
});

test('every integer and float dtype stores and returns its values exactly', () => {
  const cases = [
    { dtype: 'float32', array: Float32Array, values: [1.5, -2, 0.25] },
    { dtype: 'float64', array: Float64Array, values: [0.1, -1e300, 3] },
    { dtype: 'int32', array: Int32Array, values: [-2147483648, 0, 2147483647] },
    { dtype: 'uint8', array: Uint8Array, values: [0, 128, 255] },
    { dtype: 'bool', array: Uint8Array, values: [1, 0, 1] },
  ] as const;
  for (const c of cases) {
    const t = tensor(c.values as unknown as number[], undefined, { dtype: c.dtype });
    assert.equal(t.dtype, c.dtype);
    assert.ok(t.data() instanceof c.array, `${c.dtype} data() type`);
    assert.deepEqual(t.toArray(), c.values, c.dtype);
  }
  const big = tensor(new BigInt64Array([-(2n ** 62n), 0n, 2n ** 40n + 1n]));
  assert.equal(big.dtype, 'int64');
  assert.deepEqual(Array.from(big.data() as BigInt64Array), [-(2n ** 62n), 0n, 2n ** 40n + 1n]);
  assert.deepEqual(tensor([3, -4], undefined, { dtype: 'int64' }).toArray(), [3, -4]);
  assert.equal(tensor([1, 2], undefined, { dtype: 'bool' }).toArray()[1], 1, 'non-zero becomes true');
});

test('float16 and bfloat16 round trips through .to()', () => {
  const exact = tensor([1.5, -2.25, 1024, 0]);
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const half = exact.to(dtype);
    assert.equal(half.dtype, dtype);
    assert.ok(half.data() instanceof Uint16Array);
    assert.deepEqual(half.to('float32').toArray(), [1.5, -2.25, 1024, 0]);
    assert.deepEqual(half.toArray(), [1.5, -2.25, 1024, 0], 'toArray converts half types');
  }
  // Raw bits: 1.5 is 0x3E00 in float16 and 0x3FC0 in bfloat16.
  assert.equal((tensor([1.5]).to('float16').data() as Uint16Array)[0], 0x3e00);
  assert.equal((tensor([1.5]).to('bfloat16').data() as Uint16Array)[0], 0x3fc0);
  // Rounding: 0.1 is not representable; the nearest values are known.
  assertClose(tensor([0.1]).to('float16').toArray(), [0.0999755859375], 0);
  assertClose(tensor([0.1]).to('bfloat16').toArray(), [0.10009765625], 0);
  assert.deepEqual(tensor([2.7, -2.7]).to('int64').toArray(), [2, -2], 'float to int truncates');
  assert.deepEqual(tensor([0, 3]).to('bool').toArray(), [0, 1]);
  assert.equal(tensor([1]).to('float64').dtype, 'float64');
});

test('item() reads one element of any dtype', () => {
  assert.equal(tensor([[4]], undefined, { dtype: 'int64' }).item(), 4);
  assert.equal(tensor([1], undefined, { dtype: 'bool' }).item(), 1);
  assert.equal(tensor([0.5]).to('float16').item(), 0.5);
});

test('the same seed gives the same numbers; a different seed different ones', () => {
  manualSeed(1234);
  const a = rand([50]).toArray();
  const b = randn([50]).toArray();
  const c = randint(0, 10, [20]).toArray();
  const d = randperm(10).toArray();
  manualSeed(1234);
  assert.deepEqual(rand([50]).toArray(), a);
  assert.deepEqual(randn([50]).toArray(), b);
  assert.deepEqual(randint(0, 10, [20]).toArray(), c);
  assert.deepEqual(randperm(10).toArray(), d);
  manualSeed(1235);
  assert.notDeepEqual(rand([50]).toArray(), a);
});

test('the random state can be saved and restored', () => {
  manualSeed(7);
  const state = getRngState();
  const first = randn([10]).toArray();
  rand([5]);
  setRngState(state);
  assert.deepEqual(randn([10]).toArray(), first);
});

test('rand, randn, randint, randperm have the right distributions', () => {
  manualSeed(99);
  const n = 20000;
  const u = rand([n]);
  assert.equal(u.dtype, 'float32');
  assertClose(u.mean().item(), 0.5, 0.02, 'rand mean');
  assertClose(u.var().item(), 1 / 12, 0.01, 'rand var');
  assert.ok(u.amin().item() >= 0 && u.amax().item() < 1);
  const z = randn([n], { dtype: 'float64' });
  assert.equal(z.dtype, 'float64');
  assertClose(z.mean().item(), 0, 0.03, 'randn mean');
  assertClose(z.std().item(), 1, 0.03, 'randn std');
  const r = randint(3, 7, [n]);
  assert.equal(r.dtype, 'int64');
  assert.equal(r.amin().item(), 3);
  assert.equal(r.amax().item(), 6);
  const p = randperm(100).toArray();
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
});
