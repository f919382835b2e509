// What keeps an int8 classifier close to its float one (issue 29), on a
// two-convolution network built to round badly: bias correction takes the
// mean error of rounded weights out of the biases, and the float stem leaves
// the convolution that reads the image (and the image) unquantized.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, int, ints } from '../../../src/deploy/onnx/graph.js';
import { serializeGraph } from '../../../src/deploy/onnx/serialize.js';
import { onnx } from '../../../src/deploy/onnx/proto.js';
import { foldPadsIntoConvs } from '../../../src/deploy/quantize/fold-pad.js';
import { planQuantization } from '../../../src/deploy/quantize/plan.js';
import { quantizeClassifier, type QuantizeOptions } from '../../../src/deploy/quantize/quantize.js';
import { openRunner } from '../../../src/deploy/runtime/node.js';
import { runOnnx } from '../helpers.js';

const IMAGES = 8, SIZE = 6, OUT = 4, HIDDEN = 8;

function seededFloats(n: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: n }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

/**
 * image [n, 3, 6, 6] -> Mul, Add (the input normalisation) -> 3x3 Conv (the
 * stem, 3 -> 8) -> Clip(0, 6) -> 1x1 Conv (8 -> 4) -> out. Each output
 * channel of the 1x1 convolution has one weight of 1 and seven of 0.4 int8
 * steps (1/127 each): all seven round to 0, so every int8 output channel
 * misses 7 x 0.4 / 127 x its input's mean, an error that does not average out.
 */
function roundsBadly(): Uint8Array {
  const g = new GraphBuilder(IMAGES);
  const f = (channels: number) => ({ dtype: 'float32' as const, shape: [IMAGES, channels, SIZE, SIZE], batchAxis: 0 });
  const image = g.addInput('image', 'float32', [IMAGES, 3, SIZE, SIZE], 0);
  const normalised = g.node('Add', [g.node('Mul', [image, g.scalar(2, 'float32')], {}, f(3)), g.scalar(-0.5, 'float32')], {}, f(3));
  const stem = g.node('Conv', [normalised, g.addInitializer('stem.w', 'float32', [HIDDEN, 3, 3, 3], seededFloats(HIDDEN * 27, 3)),
    g.addInitializer('stem.b', 'float32', [HIDDEN], Float32Array.from({ length: HIDDEN }, (_, i) => 0.5 + 0.1 * i))],
  { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(1) }, f(HIDDEN), 'stem');
  const clip = g.node('Clip', [stem, g.scalar(0, 'float32'), g.scalar(6, 'float32')], {}, f(HIDDEN));
  const weights = new Float32Array(OUT * HIDDEN).fill(0.4 / 127);
  for (let o = 0; o < OUT; o++) weights[o * HIDDEN + o] = 1;
  const out = g.node('Conv', [clip, g.addInitializer('project.w', 'float32', [OUT, HIDDEN, 1, 1], weights),
    g.addInitializer('project.b', 'float32', [OUT], new Float32Array(OUT))], { kernel_shape: ints([1, 1]) }, f(OUT), 'project');
  g.rename(out, 'out');
  g.outputs.push(out);
  return serializeGraph(g);
}

const images = Float32Array.from(seededFloats(IMAGES * 3 * SIZE * SIZE, 11), (v) => v + 0.5); // pixels in [0, 1)
const feed = { image: { data: images, dims: [IMAGES, 3, SIZE, SIZE] } };

/** Each output channel's mean over the images and positions. */
async function channelMeans(bytes: Uint8Array): Promise<number[]> {
  const out = (await runOnnx(bytes, feed)).out!.data as Float32Array;
  const per = SIZE * SIZE, means = new Array<number>(OUT).fill(0);
  for (let i = 0; i < out.length; i++) means[Math.floor(i / per) % OUT]! += out[i]! / (IMAGES * per);
  return means;
}

async function quantized(options: Partial<QuantizeOptions>) {
  return quantizeClassifier(roundsBadly(), { images, calibration: `${IMAGES} seeded images`, open: openRunner, ...options });
}

test('bias correction takes the mean error of rounded weights out of the biases', async (t) => {
  const float = await channelMeans(roundsBadly());
  const plain = await quantized({ biasCorrection: false, floatLayers: 'none' });
  const corrected = await quantized({ biasCorrection: true, floatLayers: 'none' });
  assert.equal(plain.record.biasCorrected, 0);
  assert.equal(corrected.record.biasCorrected, 2, 'both convolutions have a bias to correct');
  assert.equal(corrected.record.quantizedNodes, 2);
  const error = (means: number[]) => means.reduce((worst, m, c) => Math.max(worst, Math.abs(m - float[c]!)), 0);
  const [before, after] = [error(await channelMeans(plain.bytes)), error(await channelMeans(corrected.bytes))];
  t.diagnostic(`float channel means ${float.map((m) => m.toFixed(3)).join(', ')}; worst mean error int8 ${before.toFixed(4)}, bias-corrected ${after.toFixed(4)}`);
  // Without correction a channel misses 0.4 / 127 x the sum of the other seven Clip channels' means (about 1 each
  // here): 0.022 measured; bias-corrected, 0.0012.
  assert.ok(before > 0.01, `the uncorrected int8 network is off by ${before} on average`);
  assert.ok(after < before / 5, `bias correction leaves a mean error of ${after} (uncorrected ${before})`);
  assert.equal(JSON.parse((onnx.ModelProto.decode(corrected.bytes).metadataProps ?? []).find((p) => p.key === 'hyperclip.quantization')!.value!).biasCorrected, 2);
});

test('the float stem: the convolution that reads the image and its input stay float, the rest is int8', async () => {
  const model = onnx.ModelProto.decode(roundsBadly());
  foldPadsIntoConvs(model);
  const stemPlan = planQuantization(model, { floatStem: true });
  assert.deepEqual(stemPlan.floatNodes.map((n) => n.input![1]), ['stem.w']);
  assert.deepEqual(stemPlan.weighted.map((w) => w.weight), ['project.w']);
  assert.ok(!stemPlan.activations.some((t) => model.graph!.node!.find((n) => n.output![0] === t)?.opType === 'Add'), 'the normalised image is not quantized');
  const allPlan = planQuantization(model);
  assert.deepEqual(allPlan.weighted.map((w) => w.weight), ['stem.w', 'project.w']);
  assert.deepEqual(allPlan.floatNodes, []);

  const { bytes, record } = await quantized({}); // the defaults: bias correction on, float stem
  assert.equal(record.floatLayers, 'stem');
  assert.equal(record.floatNodes, 1);
  assert.equal(record.quantizedNodes, 1);
  assert.equal(record.biasCorrected, 1, 'the int8 convolution is corrected; the float stem needs no correction');
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const stem = graph.node!.find((n) => n.opType === 'Conv' && n.input![1] === 'stem.w')!;
  assert.equal(graph.initializer!.find((i) => i.name === 'stem.w')?.dataType, onnx.TensorProto.DataType.FLOAT, 'the stem weight is still a float initializer');
  assert.equal(graph.node!.find((n) => n.output!.includes(stem.input![0]!))?.opType, 'Add', 'the stem reads the normalised image directly, no DequantizeLinear');
  assert.equal(graph.node!.filter((n) => n.opType === 'QuantizeLinear').length, 1, 'one quantized activation: the Clip between the convolutions');

  await assert.rejects(quantized({ floatLayers: 'head' as never }), { message: 'floatLayers is head: use stem or none' });
});
