// Batch-norm folding: conv then eval batch norm (own or generated scale and
// shift) equals the folded convolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, Conv2d, F, manualSeed, noGrad, rand, randn, tidy, type Tensor } from '../../src/engine/index.js';
import { foldBatchNorm, foldConvNorm } from '../../src/deploy/fold.js';
import { randomizeBatchNorm } from './modules.js';
import { feedOf, maxAbsDiff, runOnnx } from './helpers.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { onnx } from '../../src/deploy/onnx/proto.js';

function parity(conv: Conv2d, bn: BatchNorm2d, x: Tensor, scale?: Tensor, shift?: Tensor): number {
  return noGrad(() => tidy(() => {
    const reference = bn.forward(conv.forward(x), scale, shift); // [N, O, H', W']
    const folded = foldBatchNorm(conv, bn, scale ?? bn.weight, shift ?? bn.bias);
    const y = F.conv2d(x, folded.weight, folded.bias, { stride: conv.stride, padding: conv.padding, groups: conv.groups });
    assert.deepEqual(folded.weight.shape, conv.weight.shape);
    return maxAbsDiff(y.data() as Float32Array, reference.data() as Float32Array);
  }));
}

test('folding a trained batch norm into a conv without bias gives the same outputs', (t) => {
  manualSeed(8);
  const conv = new Conv2d(4, 6, 3, { stride: 2 });
  const bn = new BatchNorm2d(6);
  randomizeBatchNorm(bn);
  bn.eval();
  const diff = parity(conv, bn, randn([3, 4, 9, 9]));
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  t.diagnostic(`conv+BN vs folded conv: max abs diff ${diff.toExponential(2)}`);
});

test('folding generated [1, C] scale and shift into a depthwise conv with bias, and into channels-last weights', (t) => {
  manualSeed(9);
  const conv = new Conv2d(8, 8, 5, { groups: 8, bias: true });
  const bn = new BatchNorm2d(8);
  randomizeBatchNorm(bn);
  bn.eval();
  const [scale, shift] = [rand([1, 8]).add(0.5), randn([1, 8])];
  const diff = parity(conv, bn, randn([2, 8, 7, 7]), scale, shift);
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  const channelsLast = new Conv2d(8, 8, 5, { groups: 8, bias: true });
  noGrad(() => channelsLast.weight.copy_(conv.weight));
  channelsLast.toMemoryFormat('channels-last');
  assert.ok(channelsLast.weight.isContiguous('channels-last'));
  const diffCl = parity(channelsLast, bn, randn([2, 8, 7, 7]), scale, shift);
  assert.ok(diffCl <= 1e-5, `channels-last weights: max abs diff ${diffCl}`);
  t.diagnostic(`depthwise+generated BN: ${diff.toExponential(2)}; channels-last weights: ${diffCl.toExponential(2)}`);
});

test('folding refuses mismatched or per-sample parameters', () => {
  const conv = new Conv2d(3, 4, 1);
  const bn = new BatchNorm2d(4);
  assert.throws(() => foldBatchNorm(conv, bn, rand([2, 4]), rand([2, 4])),
    { message: 'fold: scale must be [C] or [1, C] (one task), got [2,4]; fold each task separately' });
  assert.throws(() => foldConvNorm({ weight: new Float32Array(12), bias: null, outChannels: 4 },
    { runningMean: new Float32Array(3), runningVar: new Float32Array(4), eps: 1e-5, scale: new Float32Array(4), shift: new Float32Array(4) }),
  { message: 'fold: runningMean has 3 values but the convolution has 4 output channels' });
});

test('the export pass folds per-channel chains after a conv, stopping where the layout is not NCHW', async (t) => {
  manualSeed(10);
  const conv = new Conv2d(3, 4, 3, { bias: true });
  const bn = new BatchNorm2d(4);
  randomizeBatchNorm(bn);
  bn.eval();
  const [c1, c2, c3] = [rand([4]).add(0.5), randn([4, 1, 1]), randn([1, 4, 1, 1])];
  const forward = (x: Tensor): Tensor[] => {
    const nhwc = bn.forward(conv.forward(x)).permute([0, 2, 3, 1]).mul(c1).add(c1); // [N, H, W, C]: stays a Transpose
    const nchw = conv.forward(x).div(c2).sub(c3).mul(2).relu(); // folds whole
    return [nhwc, nchw];
  };
  const x = randn([2, 3, 6, 6]);
  const bytes = exportOnnx(({ x }) => forward(x!), [{ name: 'x', tensor: x, dynamicBatch: true }]);
  const ops = onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);
  assert.deepEqual(ops.sort(), ['Add', 'Conv', 'Conv', 'Mul', 'Relu', 'Transpose']);
  const out = await runOnnx(bytes, { x: feedOf(x) });
  const expected = noGrad(() => tidy(() => forward(x)));
  const diffs = expected.map((e, i) => maxAbsDiff(out[i === 0 ? 'output' : 'output_1']!.data as Float32Array, e.data() as Float32Array));
  for (const d of diffs) assert.ok(d <= 1e-5, `max abs diff ${d}`);
  t.diagnostic(`folded chains vs engine: ${diffs.map((d) => d.toExponential(2)).join(', ')}`);
});
