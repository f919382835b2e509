// Export refuses what it cannot express, with one clear message each:
// unknown ops, training-mode layers, tensors that bake in the traced batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arange, BatchNorm2d, Dropout, F, manualSeed, ones, randint, randn, tensor, type Tensor } from '../../src/engine/index.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { OnnxTracer } from '../../src/deploy/onnx/tracer.js';
import { onnx } from '../../src/deploy/onnx/proto.js';
import { CHECKER_SKIP, feedOf, onnxCheckerAvailable, onnxCheckerError, runOnnx } from './helpers.js';

const batchInput = (t: Tensor) => [{ name: 'x', tensor: t, dynamicBatch: true }];

test('an engine op with no ONNX conversion is an error naming the op', () => {
  const x = randn([2, 3]);
  const tracer = new OnnxTracer([{ name: 'x', tensor: x }]);
  assert.throws(() => tracer.record('fancyOp', [x], {}, [randn([2, 3])]),
    { message: 'ONNX export: the engine op "fancyOp" has no ONNX conversion; avoid it in the exported forward pass or add a converter in src/deploy/onnx/ops/' });
});

test('training-only ops and modes are refused with the fix in the message', () => {
  const x = randn([2, 3, 4, 4]);
  assert.throws(() => exportOnnx(({ x }) => F.crossEntropy(x!.mean([2, 3]), tensor([0, 1], [2], { dtype: 'int64' })), batchInput(x)),
    /ONNX export: crossEntropy is a training loss/);
  const bn = new BatchNorm2d(3);
  assert.throws(() => exportOnnx(({ x }) => bn.forward(x!), batchInput(x)), { message: 'ONNX export: batch norm ran in training mode; call model.eval() before exporting' });
  const dropout = new Dropout(0.5);
  assert.throws(() => exportOnnx(({ x }) => dropout.forward(x!), batchInput(x)), { message: 'ONNX export: dropout ran in training mode; call model.eval() before exporting' });
  assert.throws(() => exportOnnx(({ x }) => x!.norm(3, -1), batchInput(x)), { message: 'ONNX export: norm with p=3 is not exportable; use p = 1, 2 or Infinity' });
  assert.throws(() => exportOnnx(({ x }) => F.adaptiveAvgPool2d(x!, 3), batchInput(x)), /adaptiveAvgPool2d to 3x3 from 4x4 has uneven windows/);
});

test('a tensor that bakes in the traced batch size is refused under dynamicBatch and fine without it', async () => {
  manualSeed(4);
  const x = randn([2, 5, 3]);
  // End-token pooling through a flattened index built with arange(B): B is frozen at 2 in the graph.
  const pool = ({ x }: Record<string, Tensor>) => {
    const [b, t, d] = x!.shape as [number, number, number];
    const rows = arange(0, b).mul(t).add(t - 1).to('int64'); // [B], the last position of each row
    return x!.reshape([b * t, d]).indexSelect(0, rows); // [B, D]
  };
  assert.throws(() => exportOnnx(pool, batchInput(x)), /ONNX export: indexSelect picks fixed positions \[2\] along the dynamic batch axis/);
  const bytes = exportOnnx(pool, [{ name: 'x', tensor: x }]);
  const out = (await runOnnx(bytes, { x: feedOf(x) })).output!;
  assert.deepEqual(Array.from(out.data as Float32Array), Array.from(x.slice(1, 4, 5).squeeze(1).data() as Float32Array));
  // A constant made with the batch size and combined with the input.
  assert.throws(() => exportOnnx(({ x }) => x!.mul(arange(0, 2, 1, { dtype: 'float32' }).reshape([2, 1, 1])), batchInput(x)),
    /mul combines a batch-dependent tensor with a fixed tensor of shape \[2,1,1\] whose axis 0 has the traced batch size 2/);
  // A constant expanded over the batch.
  assert.throws(() => exportOnnx(({ x }) => x!.add(ones([1, 5, 3]).expand([2, 5, 3])), batchInput(x)), /traced batch size 2/);
  // A reshape that folds the batch into a fixed outer axis.
  assert.throws(() => exportOnnx(({ x }) => x!.permute([1, 0, 2]).reshape([10, 3]), batchInput(x)),
    { message: 'ONNX export: reshape of [5,2,3] to [10,3] mixes the dynamic batch axis 1 with other axes; keep the batch as its own leading axis in reshapes, or export without dynamicBatch' });
});

test('bad example inputs get clear messages', () => {
  const fn = ({ x }: Record<string, Tensor>) => x!.relu();
  assert.throws(() => exportOnnx(fn, []), { message: 'ONNX export: give at least one example input' });
  assert.throws(() => exportOnnx(fn, batchInput(randn([1, 3]))), /trace a dynamic batch with an example batch of at least 2 \(got 1\)/);
  assert.throws(() => exportOnnx(fn, [{ name: 'x', tensor: randn([2, 3]), dynamicBatch: true }, { name: 'y', tensor: randn([3, 3]), dynamicBatch: true }]),
    { message: 'ONNX export: dynamic-batch inputs disagree on the batch size (2, 3); give them one batch size' });
  const same = randn([2, 3]);
  assert.throws(() => exportOnnx(fn, [{ name: 'x', tensor: same }, { name: 'y', tensor: same }]), { message: 'ONNX export: input "y" is the same tensor as another input' });
  assert.throws(() => exportOnnx(fn, [{ name: 'x', tensor: randn([2]) }, { name: 'x', tensor: randn([2]) }]), /the name "x" is used twice/);
  assert.throws(() => exportOnnx(() => [], [{ name: 'x', tensor: randn([2]) }]), { message: 'ONNX export: the traced function returned no tensors' });
});

test('outputs that are inputs, constants or repeats still get their own names', async () => {
  const x = randint(0, 5, [2, 3]);
  const w = randn([4]);
  const bytes = exportOnnx(({ x }) => ({ same: x!, weight: w, twice: x!.add(1), again: x!.add(1) }), [{ name: 'x', tensor: x }]);
  const out = await runOnnx(bytes, { x: feedOf(x) });
  assert.deepEqual(Object.keys(out).sort(), ['again', 'same', 'twice', 'weight']);
  assert.deepEqual(Array.from(out.weight!.data as Float32Array), Array.from(w.data() as Float32Array));
});

test('the ONNX checker harness does reject a broken graph', (t) => {
  if (!onnxCheckerAvailable()) {
    t.skip(CHECKER_SKIP);
    return;
  }
  const bytes = exportOnnx(({ x }) => x!.relu(), [{ name: 'x', tensor: randn([2, 3]) }]);
  const model = onnx.ModelProto.decode(bytes);
  model.graph!.node![0]!.input = ['missing_value'];
  const error = onnxCheckerError(onnx.ModelProto.encode(model).finish());
  assert.ok(error !== null && /missing_value/.test(error), `checker should name the missing input, said: ${error}`);
});
