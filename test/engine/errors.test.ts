// Bad input gives a readable JavaScript error, never a crash of the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, ones, tensor, tidy, zeros, type Tensor } from '../../src/engine/index.js';

const int64 = (values: number[]): Tensor => tensor(values, undefined, { dtype: 'int64' });

test('shape mismatches in matmul, linear, bmm, add, cat, conv2d', () => {
  assert.throws(() => zeros([2, 2]).matmul(zeros([3, 1])), /matmul: cannot multiply \[2,2\] by \[3,1\].*shapes cannot be multiplied \(2x2 and 3x1\)/);
  assert.throws(() => zeros([2, 2]).matmul(zeros([3])), /matmul: cannot multiply \[2,2\] by \[3\]/);
  assert.throws(() => F.linear(zeros([2, 3]), zeros([4, 5])), /shapes cannot be multiplied \(2x3 and 5x4\)/);
  assert.throws(() => F.bmm(zeros([2, 3, 4]), zeros([2, 5, 4])), /batch2 tensor to be: \[2, 4\] but got: \[2, 5\]/);
  assert.throws(() => zeros([2, 3]).add(zeros([2, 4])), /size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1/);
  assert.throws(() => F.cat([zeros([2, 2]), zeros([3, 3])]), /Sizes of tensors must match except in dimension 0/);
  assert.throws(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3])),
    /weight of size \[4, 2, 3, 3\], expected input\[1, 3, 8, 8\] to have 2 channels, but got 3 channels/);
  assert.throws(() => F.conv2d(zeros([1, 3, 2, 2]), zeros([4, 3, 5, 5])), /Kernel size can't be greater than actual input size/);
  assert.throws(() => F.conv2d(zeros([1, 4, 4, 4]), zeros([4, 2, 3, 3]), null, { groups: 3 }), /groups/);
  assert.throws(() => F.layerNorm(zeros([2, 3]), [4]), /normalized_shape=\[4\], expected input with shape \[\*, 4\]/);
  assert.throws(() => F.batchNorm(zeros([2, 3, 2, 2]), null, null, ones([4]), null, { training: true }), /weight should contain 3 elements not 4/);
  assert.throws(() => zeros([2, 3]).reshape([4]), /shape '\[4\]' is invalid for input of size 6/);
  assert.throws(() => zeros([2]).expand([3]), /expanded size of the tensor \(3\) must match the existing size \(2\)/);
  assert.throws(() => zeros([2, 3]).sum(3), /Dimension out of range/);
  assert.throws(() => zeros([2, 3]).size(2), /dimension 2 out of range for a tensor of shape \[2,3\]/);
});

test('wrong dtypes: float indices, float targets, half from numbers, unknown dtype', () => {
  assert.throws(() => F.embedding(zeros([3, 2]), tensor([0, 1])), /indices.*Long, Int; but got CPUFloatType/);
  assert.throws(() => zeros([3]).indexSelect(0, tensor([0])), /Expected dtype int32 or int64 for index/);
  assert.throws(() => F.crossEntropy(zeros([2, 3]), tensor([0, 1])), /crossEntropy: targets must be int64 class indices.*got float32 \[2\]/);
  assert.throws(() => tensor([1], undefined, { dtype: 'float16' }), /cannot build float16 from numbers; build float32 and convert/);
  assert.throws(() => tensor([1]).to('float17' as 'float32'), /unknown dtype "float17": expected one of/);
  assert.throws(() => tensor(new Uint16Array(2) as unknown as Float32Array), /tensor data must be a Float32Array/);
});

test('out-of-range indices and targets', () => {
  assert.throws(() => F.embedding(zeros([3, 2]), int64([5])), /index out of range/);
  assert.throws(() => F.crossEntropy(zeros([2, 3]), int64([0, 5])), /Target 5 is out of bounds/);
});

test('use after dispose names the problem, for every kind of use', () => {
  const t = tensor([1, 2]);
  t.dispose();
  t.dispose(); // a second dispose is harmless
  assert.equal(t.disposed, true);
  for (const use of [() => t.toArray(), () => t.shape, () => t.add(1), () => zeros([2]).add(t), () => F.cat([t, t]), () => t.item()]) {
    assert.throws(use, /used after dispose/);
  }
});

test('item() on a multi-element tensor, tensor() with the wrong data length, bad shapes', () => {
  assert.throws(() => zeros([2, 2]).item(), /item\(\) needs a tensor with one element, got 4/);
  assert.throws(() => tensor([1, 2, 3], [2, 2]), /tensor: 3 values do not fill shape \[2,2\] of float32 \(needs 4\)/);
  assert.throws(() => tensor([[1, 2], [3]]), /values do not fill shape \[2,2\]/);
  assert.throws(() => tensor(new Float32Array(5), [2, 3]), /5 values do not fill shape \[2,3\]/);
  assert.throws(() => tensor(new Float32Array(4), [4], { dtype: 'float64' }), /a Float32Array cannot hold float64 data/);
  assert.throws(() => zeros([2, -1]), /zeros: shape must be non-negative integers, got \[2,-1\]/);
  assert.throws(() => ones([1.5]), /ones: shape must be non-negative integers/);
});

test('topk with a bad k or dim', () => {
  const x = zeros([2, 3]);
  assert.throws(() => x.topk(0), /topk: k must be between 1 and 3, got 0/);
  assert.throws(() => x.topk(4), /topk: k must be between 1 and 3, got 4/);
  assert.throws(() => x.topk(1.5), /got 1\.5/);
  assert.throws(() => x.topk(1, 5), /dimension 5 out of range/);
});

test('autograd misuse', () => {
  assert.throws(() => zeros([1]).backward(), /does not require grad/);
  const x = ones([2]);
  x.requiresGrad = true;
  assert.throws(() => x.mul(2).backward(), /backward\(\) without a gradient needs a scalar loss, got 2 elements/);
  assert.throws(() => x.mul(2).backward(ones([3])), /invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2\]/);
});

test('wrong argument kinds reach the binding as TypeErrors, not crashes', () => {
  assert.throws(() => zeros([2]).add('x' as unknown as number), /expected a tensor for right operand/);
  assert.throws(() => tidy(() => Promise.resolve(1)), /tidy\(\) takes a synchronous function/);
  assert.throws(() => zeros([2]).to('cuda:7'), /cuda|CUDA/);
});

test('the process survives many errors in a row', () => {
  for (let i = 0; i < 50; i++) assert.throws(() => zeros([2, 2]).matmul(zeros([3, 3])));
  assert.deepEqual(ones([2]).add(1).toArray(), [2, 2]);
});
