// Shape operations: views, copies, joins and memory layouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, arange, tensor, type Tensor } from '../../src/engine/index.js';
import { assertTensor } from './helpers.js';

const seq = (shape: number[]): Tensor => arange(0, shape.reduce((a, b) => a * b, 1), 1, { dtype: 'float32' }).reshape(shape);
const idx = (values: number[] | number[][]): Tensor => tensor(values, undefined, { dtype: 'int64' });

test('reshape, with -1, and flatten over a range of dims', () => {
  const x = seq([2, 3, 4]);
  assertTensor(x.reshape([6, 4]).slice(0, 1, 2), [1, 4], [4, 5, 6, 7]);
  assert.deepEqual(x.reshape([-1, 2]).shape, [12, 2]);
  assert.deepEqual(x.flatten().shape, [24]);
  assert.deepEqual(x.flatten(1).shape, [2, 12]);
  assert.deepEqual(x.flatten(0, 1).shape, [6, 4]);
});

test('permute and transpose move data as expected', () => {
  const x = seq([2, 3]);
  assertTensor(x.transpose(0, 1), [3, 2], [0, 3, 1, 4, 2, 5]);
  const y = seq([2, 1, 3]).permute([2, 0, 1]);
  assertTensor(y, [3, 2, 1], [0, 3, 1, 4, 2, 5]);
  assert.equal(y.isContiguous(), false);
  assert.equal(y.contiguous().isContiguous(), true);
});

test('slice with steps and negative indices, narrow', () => {
  const x = seq([2, 6]);
  assertTensor(x.slice(1, 1, 5, 2), [2, 2], [1, 3, 7, 9]);
  assertTensor(x.slice(1, -2, 6), [2, 2], [4, 5, 10, 11]);
  assertTensor(x.slice(0, 1, 2), [1, 6], [6, 7, 8, 9, 10, 11]);
  assertTensor(x.narrow(1, 2, 3), [2, 3], [2, 3, 4, 8, 9, 10]);
});

test('indexSelect and gather pick by int64 indices', () => {
  const x = seq([3, 3]);
  assertTensor(x.indexSelect(0, idx([2, 0, 2])), [3, 3], [6, 7, 8, 0, 1, 2, 6, 7, 8]);
  assertTensor(x.indexSelect(1, idx([1])), [3, 1], [1, 4, 7]);
  assertTensor(x.gather(1, idx([[2], [0], [1]])), [3, 1], [2, 3, 7]);
  assertTensor(x.gather(0, idx([[2, 1, 0]])), [1, 3], [6, 4, 2]);
});

test('expand, repeat, squeeze, unsqueeze', () => {
  const x = tensor([[1], [2]]); // [2, 1]
  assertTensor(x.expand([2, 3]), [2, 3], [1, 1, 1, 2, 2, 2]);
  assertTensor(x.expand([-1, 2]), [2, 2], [1, 1, 2, 2]);
  assertTensor(tensor([1, 2]).repeat([2, 2]), [2, 4], [1, 2, 1, 2, 1, 2, 1, 2]);
  assert.deepEqual(x.squeeze().shape, [2]);
  assert.deepEqual(x.squeeze(1).shape, [2]);
  assert.deepEqual(x.squeeze(0).shape, [2, 1], 'squeezing a non-1 dim is a no-op');
  assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 1]);
  assert.deepEqual(x.unsqueeze(-1).shape, [2, 1, 1]);
});

test('channels-last keeps values and shape, changes the layout', () => {
  const x = seq([2, 3, 2, 2]);
  assert.equal(x.isContiguous(), true);
  assert.equal(x.isContiguous('channels-last'), false);
  const cl = x.contiguous('channels-last');
  assert.equal(cl.isContiguous('channels-last'), true);
  assert.equal(cl.isContiguous(), false);
  assert.deepEqual(cl.shape, [2, 3, 2, 2]);
  assert.deepEqual(cl.toArray(), x.toArray(), 'data() returns logical (NCHW) order');
  assert.equal(cl.contiguous().isContiguous(), true);
  // Ops on channels-last input keep the layout and the values.
  const y = F.conv2d(cl, seq([4, 3, 1, 1]));
  assert.deepEqual(y.toArray(), F.conv2d(x, seq([4, 3, 1, 1])).toArray());
});

test('tril and triu with diagonal offsets', () => {
  const x = seq([3, 3]).add(1);
  assertTensor(x.tril(), [3, 3], [1, 0, 0, 4, 5, 0, 7, 8, 9]);
  assertTensor(x.triu(), [3, 3], [1, 2, 3, 0, 5, 6, 0, 0, 9]);
  assertTensor(x.triu(1), [3, 3], [0, 2, 3, 0, 0, 6, 0, 0, 0]);
  assertTensor(x.tril(-1), [3, 3], [0, 0, 0, 4, 0, 0, 7, 8, 0]);
});

test('flip over one and several dims', () => {
  const x = seq([2, 3]);
  assertTensor(x.flip([1]), [2, 3], [2, 1, 0, 5, 4, 3]);
  assertTensor(x.flip([0, 1]), [2, 3], [5, 4, 3, 2, 1, 0]);
});

test('clone copies: the copy does not change with the original', () => {
  const x = tensor([1, 2]);
  const c = x.clone();
  x.fill_(9);
  assertTensor(c, [2], [1, 2]);
  assertTensor(x, [2], [9, 9]);
});

test('views share storage with their base (in-place writes show through)', () => {
  const x = seq([2, 2]);
  const v = x.reshape([4]);
  x.fill_(3);
  assertTensor(v, [4], [3, 3, 3, 3]);
});

test('cat and stack along any dim', () => {
  const a = tensor([[1, 2]]), b = tensor([[3, 4], [5, 6]]);
  assertTensor(F.cat([a, b]), [3, 2], [1, 2, 3, 4, 5, 6]);
  assertTensor(F.cat([b, b], 1), [2, 4], [3, 4, 3, 4, 5, 6, 5, 6]);
  assertTensor(F.stack([tensor([1, 2]), tensor([3, 4])]), [2, 2], [1, 2, 3, 4]);
  assertTensor(F.stack([tensor([1, 2]), tensor([3, 4])], 1), [2, 2], [1, 3, 2, 4]);
  assertTensor(F.stack([tensor([1, 2]), tensor([3, 4])], -1), [2, 2], [1, 3, 2, 4]);
  assert.throws(() => F.cat([]), /at least one tensor/);
  assert.throws(() => F.stack([]), /at least one tensor/);
});

test('pad: last dim first, negative padding crops, custom value', () => {
  const x = tensor([[1, 2], [3, 4]]);
  assertTensor(F.pad(x, [1, 0]), [2, 3], [0, 1, 2, 0, 3, 4]);
  assertTensor(F.pad(x, [0, 0, 1, 1], -1), [4, 2], [-1, -1, 1, 2, 3, 4, -1, -1]);
  assertTensor(F.pad(x, [0, -1]), [2, 1], [1, 3]);
});
