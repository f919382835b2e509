// Every differentiable operation: analytic gradients against central finite
// differences in float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, F, manualSeed, tensor, type BinaryOp, type Tensor, type UnaryOp } from '../../src/engine/index.js';
import { gradcheck, spread } from './helpers.js';

const idx = (values: number[] | number[][] | number[][][]): Tensor => tensor(values, undefined, { dtype: 'int64' });
const positive = (shape: number[]): Tensor => spread(shape).abs().add(0.2);

test('gradients of every differentiable unary op', () => {
  // Inputs avoid the kinks of relu (0), relu6 (0, 6), hardswish and hardsigmoid (-3, 3), abs (0).
  const x = tensor(Float64Array.from([-4.1, -2.2, -0.7, 0.4, 1.3, 2.6, 6.8, -6.3]), [2, 4]);
  const ops: UnaryOp[] = ['neg', 'exp', 'abs', 'sin', 'cos', 'relu', 'relu6', 'silu', 'gelu', 'geluTanh', 'sigmoid', 'tanh',
    'hardswish', 'hardsigmoid', 'softplus', 'logSigmoid', 'reciprocal', 'erf', 'square', 'expm1'];
  for (const op of ops) gradcheck(op, (a) => a.unary(op), [x]);
  for (const op of ['log', 'sqrt', 'rsqrt', 'log1p'] as UnaryOp[]) gradcheck(op, (a) => a.unary(op), [positive([2, 3])]);
});

test('gradients of binary ops with tensors (broadcast) and numbers', () => {
  const a = spread([2, 3]), b = spread([3], 11).abs().add(0.5);
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'];
  for (const op of ops) {
    gradcheck(`${op} tensor`, (p, q) => p.binary(op, q), [a, b]);
    gradcheck(`${op} broadcast [2,1]x[3]`, (p, q) => p.binary(op, q), [spread([2, 1], 5, 3), b]);
    gradcheck(`${op} number`, (p) => p.binary(op, 0.3), [a]);
  }
  gradcheck('pow tensor', (p, q) => p.pow(q), [positive([2, 3]), spread([2, 3], 4)]);
  gradcheck('pow number', (p) => p.pow(3), [a]);
  gradcheck('pow fractional', (p) => p.pow(0.5), [positive([4])]);
  gradcheck('remainder', (p) => p.binary('remainder', 10), [a]);
});

test('gradients of clamp, where, maskedFill', () => {
  const x = tensor(Float64Array.from([-2, -0.6, 0.3, 0.9, 1.7, -1.2]), [2, 3]);
  gradcheck('clamp both', (a) => a.clamp(-1, 1), [x]);
  gradcheck('clamp min', (a) => a.clamp(0), [x]);
  gradcheck('clamp max', (a) => a.clamp(null, 0.5), [x]);
  const cond = tensor([1, 0, 1, 0, 0, 1], [2, 3], { dtype: 'bool' });
  gradcheck('where', (a, b) => F.where(cond, a, b), [x, spread([3], 2)]);
  gradcheck('where number', (a) => F.where(cond, a, 0), [x]);
  gradcheck('maskedFill', (a) => a.maskedFill(cond, -5), [x]);
});

test('gradients of reductions', () => {
  const x = spread([2, 3, 4]);
  gradcheck('sum', (a) => a.sum(), [x]);
  gradcheck('sum dims', (a) => a.sum([0, 2]), [x]);
  gradcheck('mean keepdim', (a) => a.mean(1, true), [x]);
  gradcheck('mean all', (a) => a.mean(), [x]);
  gradcheck('amax', (a) => a.amax(2), [x]);
  gradcheck('amin', (a) => a.amin([0, 1], true), [x]);
  gradcheck('logsumexp', (a) => a.logsumexp(-1), [x]);
  gradcheck('norm 2', (a) => a.norm(), [x]);
  gradcheck('norm 2 dim', (a) => a.norm(2, 1, true), [x]);
  gradcheck('norm 1', (a) => a.norm(1, 2), [x]);
  gradcheck('var', (a) => a.var(2), [x]);
  gradcheck('var biased all', (a) => a.var(null, false), [x]);
  gradcheck('std', (a) => a.std([0, 2], true, true), [x]);
  gradcheck('cumsum', (a) => a.cumsum(1), [x]);
  gradcheck('prod', (a) => a.reduce('prod', 2), [x]);
  gradcheck('topk values', (a) => a.topk(2, 2)[0], [x]);
});

test('gradients of shape ops', () => {
  const x = spread([2, 3, 4]);
  gradcheck('reshape', (a) => a.reshape([4, 6]), [x]);
  gradcheck('permute', (a) => a.permute([2, 0, 1]), [x]);
  gradcheck('transpose', (a) => a.transpose(0, 2), [x]);
  gradcheck('slice step', (a) => a.slice(2, 0, 4, 2), [x]);
  gradcheck('narrow', (a) => a.narrow(1, 1, 2), [x]);
  gradcheck('indexSelect repeated', (a, i) => a.indexSelect(1, i!), [x, idx([2, 0, 2])]);
  gradcheck('gather', (a, i) => a.gather(2, i!), [x, idx([[[3, 0], [1, 1], [2, 0]], [[0, 0], [3, 2], [1, 3]]])]);
  gradcheck('expand', (a) => a.expand([2, 3, 4]), [spread([2, 1, 4])]);
  gradcheck('squeeze', (a) => a.squeeze(1), [spread([2, 1, 3])]);
  gradcheck('unsqueeze', (a) => a.unsqueeze(0), [x]);
  gradcheck('contiguous channels-last', (a) => a.contiguous('channels-last').mul(a), [spread([2, 3, 2, 2])]);
  gradcheck('flatten', (a) => a.flatten(1), [x]);
  gradcheck('repeat', (a) => a.repeat([2, 1, 3]), [x]);
  gradcheck('tril', (a) => a.tril(), [spread([3, 3])]);
  gradcheck('triu', (a) => a.triu(1), [spread([3, 3])]);
  gradcheck('flip', (a) => a.flip([0, 2]), [x]);
  gradcheck('clone', (a) => a.clone().mul(a), [x]);
  gradcheck('cat', (a, b) => F.cat([a, b], 1), [x, spread([2, 1, 4], 3)]);
  gradcheck('stack', (a, b) => F.stack([a, b], 2), [x, spread([2, 3, 4], 9)]);
  gradcheck('pad', (a) => F.pad(a, [1, 2, 0, 1], 3), [x]);
  gradcheck('pad crop', (a) => F.pad(a, [-1, 0]), [x]);
});

test('gradients of conv2d: plain, stride and padding, groups, depthwise, dilation, bias', () => {
  const x = spread([2, 4, 4, 4]);
  gradcheck('conv2d', (a, w, b) => F.conv2d(a, w, b), [x, spread([3, 4, 3, 3], 7), spread([3], 1)]);
  gradcheck('conv2d stride 2 padding 1', (a, w) => F.conv2d(a, w, null, { stride: 2, padding: 1 }), [x, spread([2, 4, 3, 3], 3)]);
  gradcheck('conv2d groups 2', (a, w) => F.conv2d(a, w, null, { groups: 2, padding: 1 }), [x, spread([4, 2, 3, 3], 5)]);
  gradcheck('conv2d depthwise', (a, w, b) => F.conv2d(a, w, b, { groups: 4, padding: 1, stride: 2 }),
    [x, spread([4, 1, 3, 3], 2), spread([4], 8)]);
  gradcheck('conv2d dilation', (a, w) => F.conv2d(a, w, null, { dilation: 2, padding: 2 }), [x, spread([2, 4, 3, 3], 4)]);
  gradcheck('conv2d 1x1', (a, w) => F.conv2d(a, w), [x, spread([5, 4, 1, 1], 6)]);
});

test('gradients of batchNorm reach the input and externally supplied weight and bias', () => {
  const x = spread([3, 2, 2, 2]);
  const weight = spread([2], 20), bias = spread([2], 30);
  gradcheck('batchNorm training', (a, w, b) => F.batchNorm(a, null, null, w, b, { training: true }), [x, weight, bias]);
  // Generated affine parameters: the weight is itself the output of an op (as from a hypernetwork).
  gradcheck('batchNorm generated weight', (a, h) => {
    const generated = h!.mul(2).add(1); // [2]
    return F.batchNorm(a, null, null, generated, h!.unary('sin'), { training: true });
  }, [x, spread([2], 40)]);
  const mean = spread([2], 50), variance = positive([2]);
  gradcheck('batchNorm eval', (a, w, b) => F.batchNorm(a, mean, variance, w, b, { training: false }), [x, weight, bias]);
  gradcheck('batchNorm training without affine', (a) => F.batchNorm(a, null, null, null, null, { training: true }), [x]);
});

test('gradients of BatchNorm2d with per-sample scale [N, C] and shift [N, C], and with shared [C]', () => {
  const bn = new BatchNorm2d(2).to('float64');
  const x = spread([3, 2, 2, 2]);
  gradcheck('BatchNorm2d per-sample', (a, s, b) => bn.forward(a, s, b), [x, spread([3, 2], 60), spread([3, 2], 70)]);
  gradcheck('BatchNorm2d shared', (a, s, b) => bn.forward(a, s, b), [x, spread([2], 80), spread([2], 90)]);
  bn.eval();
  gradcheck('BatchNorm2d eval per-sample', (a, s, b) => bn.forward(a, s, b), [x, spread([3, 2], 60), spread([3, 2], 70)]);
});

test('gradients of layerNorm and groupNorm', () => {
  const x = spread([2, 3, 4]);
  gradcheck('layerNorm', (a, w, b) => F.layerNorm(a, [4], w, b), [x, spread([4], 3), spread([4], 5)]);
  gradcheck('layerNorm two dims', (a, w) => F.layerNorm(a, [3, 4], w), [x, spread([3, 4], 7)]);
  gradcheck('layerNorm no affine', (a) => F.layerNorm(a, [4]), [x]);
  const y = spread([2, 4, 2, 2]);
  gradcheck('groupNorm', (a, w, b) => F.groupNorm(a, 2, w, b), [y, spread([4], 1), spread([4], 9)]);
});

test('gradients of linear, matmul, bmm', () => {
  gradcheck('linear', (a, w, b) => F.linear(a, w, b), [spread([2, 3, 4]), spread([5, 4], 3), spread([5], 6)]);
  gradcheck('linear no bias', (a, w) => F.linear(a, w), [spread([2, 4]), spread([3, 4], 3)]);
  gradcheck('matmul', (a, b) => a.matmul(b), [spread([3, 4]), spread([4, 2], 5)]);
  gradcheck('matmul batched broadcast', (a, b) => a.matmul(b), [spread([2, 3, 4]), spread([4, 2], 5)]);
  gradcheck('matmul vector', (a, b) => a.matmul(b), [spread([3, 4]), spread([4], 5)]);
  gradcheck('bmm', (a, b) => F.bmm(a, b), [spread([2, 3, 4]), spread([2, 4, 2], 5)]);
});

test('gradients of embedding (repeated indices accumulate)', () => {
  gradcheck('embedding', (w, i) => F.embedding(w!, i!), [spread([4, 3]), idx([[1, 3], [1, 0]])]);
});

test('gradients of dropout with a fixed mask', () => {
  gradcheck('dropout', (a) => {
    manualSeed(11);
    return F.dropout(a, 0.3, true);
  }, [spread([4, 5])]);
});

test('gradients of softmax, logSoftmax, crossEntropy (all reductions, label smoothing)', () => {
  const x = spread([3, 4]);
  gradcheck('softmax', (a) => F.softmax(a), [x]);
  gradcheck('softmax dim 0', (a) => F.softmax(a, 0), [x]);
  gradcheck('logSoftmax', (a) => F.logSoftmax(a, 1), [x]);
  const targets = idx([3, 0, 1]);
  gradcheck('crossEntropy', (a) => F.crossEntropy(a, targets), [x]);
  gradcheck('crossEntropy sum', (a) => F.crossEntropy(a, targets, { reduction: 'sum' }), [x]);
  gradcheck('crossEntropy none', (a) => F.crossEntropy(a, targets, { reduction: 'none' }), [x]);
  gradcheck('crossEntropy smoothing', (a) => F.crossEntropy(a, targets, { labelSmoothing: 0.1 }), [x]);
  gradcheck('normalize', (a) => F.normalize(a), [x]);
});

test('gradients of pooling and interpolation', () => {
  const x = spread([1, 2, 4, 4]);
  gradcheck('adaptiveAvgPool2d 1', (a) => F.adaptiveAvgPool2d(a, 1), [x]);
  gradcheck('adaptiveAvgPool2d 3', (a) => F.adaptiveAvgPool2d(a, 3), [x]);
  gradcheck('avgPool2d', (a) => F.avgPool2d(a, 2), [x]);
  gradcheck('avgPool2d padded', (a) => F.avgPool2d(a, 3, 2, 1), [x]);
  gradcheck('maxPool2d', (a) => F.maxPool2d(a, 2), [x]);
  gradcheck('maxPool2d overlapping padded', (a) => F.maxPool2d(a, 3, 2, 1), [x]);
  gradcheck('interpolate bilinear', (a) => F.interpolate(a, [6, 5]), [x]);
  gradcheck('interpolate bilinear aligned', (a) => F.interpolate(a, [7, 7], 'bilinear', true), [x]);
  gradcheck('interpolate nearest', (a) => F.interpolate(a, [8, 6], 'nearest'), [x]);
});

test('gradients pass through dtype conversion', () => {
  gradcheck('to float32 and back', (a) => a.to('float32').to('float64').mul(a), [spread([3])], { tol: 1e-4, eps: 1e-3 });
});

test('the checker itself fails on a wrong gradient and on a gradient that does not flow', () => {
  // detach hides one factor of a * a from autograd: analytic a, true 2a.
  assert.throws(() => gradcheck('detach', (a) => a.detach().mul(a), [spread([3])]), /analytic .* finite difference/);
  assert.throws(() => gradcheck('no flow', (a) => a.mul(0).add(1), [spread([3])]), /all zero/);
});

test('gradients in channels-last layout: conv2d, batchNorm, pooling', () => {
  const x = spread([2, 4, 3, 3]).contiguous('channels-last');
  const w = spread([4, 2, 3, 3], 5).contiguous('channels-last');
  gradcheck('conv2d channels-last', (a, k) => F.conv2d(a, k, null, { padding: 1, groups: 2 }), [x, w]);
  gradcheck('batchNorm channels-last', (a, g, b) => F.batchNorm(a, null, null, g, b, { training: true }), [x, spread([4], 1), spread([4], 2)]);
  gradcheck('adaptiveAvgPool2d channels-last', (a) => F.adaptiveAvgPool2d(a, 1), [x]);
});
