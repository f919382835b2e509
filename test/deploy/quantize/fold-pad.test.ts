// Zero Pad -> Conv folded into the convolution's own pads: same outputs in
// onnxruntime, and only the Pads that are plain zero padding of spatial axes
// in front of convolutions are folded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, ints, type Value } from '../../../src/deploy/onnx/graph.js';
import { serializeGraph } from '../../../src/deploy/onnx/serialize.js';
import { onnx } from '../../../src/deploy/onnx/proto.js';
import { foldPadsIntoConvs } from '../../../src/deploy/quantize/fold-pad.js';
import { maxAbsDiff, runOnnx } from '../helpers.js';

function seededFloats(n: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: n }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

/** x -> three Pads (zero spatial, 0.5-valued, zero but also read by a Relu), each -> a stride-2 3x3 Conv. */
function paddedConvs(): Uint8Array {
  const g = new GraphBuilder(2);
  const f = (shape: number[]) => ({ dtype: 'float32' as const, shape, batchAxis: 0 });
  const x = g.addInput('x', 'float32', [2, 3, 9, 9], 0);
  const conv = (input: Value, name: string): Value => g.node('Conv', [input, g.addInitializer(`${name}.w`, 'float32', [4, 3, 3, 3], seededFloats(108, name.length)),
    g.addInitializer(`${name}.b`, 'float32', [4], seededFloats(4, 7))], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 0, 0, 1]) }, f([2, 4, 5, 5]), name);
  const pad = (value: number): Value => g.node('Pad', [x, g.int64s([0, 0, 0, 1, 0, 0, 1, 0]), g.scalar(value, 'float32')], {}, f([2, 3, 10, 10]));
  const folded = conv(pad(0), 'zero');
  const valued = conv(pad(0.5), 'half');
  const shared = pad(0);
  const sharedConv = conv(shared, 'shared');
  const relu = g.node('Relu', [shared], {}, f([2, 3, 10, 10]));
  g.outputs.push(folded, valued, sharedConv, relu);
  return serializeGraph(g);
}

test('a zero Pad in front of a Conv becomes the Conv\'s pads, with the same outputs', async (t) => {
  const bytes = paddedConvs();
  const model = onnx.ModelProto.decode(bytes);
  assert.equal(foldPadsIntoConvs(model), 1, 'only the zero Pad read by a Conv alone is folded');
  const ops = model.graph!.node!.map((n) => n.opType);
  assert.deepEqual(ops.filter((op) => op === 'Pad').length, 2);
  const zeroConv = model.graph!.node!.find((n) => n.output![0]!.startsWith('zero'))!;
  assert.equal(zeroConv.input![0], 'x');
  assert.deepEqual(zeroConv.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number), [1, 1, 1, 1], 'Conv pads [1, 0, 0, 1] plus Pad\'s spatial [0, 1, 1, 0]');
  const feed = { x: { data: seededFloats(2 * 3 * 9 * 9, 3), dims: [2, 3, 9, 9] } };
  const [before, after] = [await runOnnx(bytes, feed), await runOnnx(onnx.ModelProto.encode(model).finish(), feed)];
  for (const name of Object.keys(before)) {
    const diff = maxAbsDiff(after[name]!.data as Float32Array, before[name]!.data as Float32Array);
    assert.ok(diff <= 1e-6, `${name}: max abs diff ${diff}`);
  }
  t.diagnostic(`outputs compared: ${Object.keys(before).join(', ')}`);
});
