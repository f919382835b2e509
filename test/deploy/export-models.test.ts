// The generator (text encoder + hypernetwork) and the image encoder with
// norm parameters as inputs, as ONNX files: chained in onnxruntime they give
// HyperClip.classify's logits without libtorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, rand, randint, randn, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { CLASS_EMBEDDINGS, exportConditionedEncoder, exportGenerator, IMAGE_EMBEDDINGS } from '../../src/deploy/export-models.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { openRunner } from '../../src/deploy/runtime/node.js';
import type { FeedTensor } from '../../src/deploy/runtime/session.js';
import { argmaxRows, CHECKER_SKIP, feedOf, maxAbsDiff, onnxCheckerAvailable, onnxCheckerErrors } from './helpers.js';

const TINY_RESNET = { family: 'resnet', widthMultiplier: 0.25, headChannels: 64 } as const;

function model(image: 'efficientnet' | 'resnet' = 'efficientnet'): HyperClip {
  const m = new HyperClip(resolveConfig(image === 'resnet' ? { preset: 'test-tiny', image: TINY_RESNET } : 'test-tiny'));
  noGrad(() => m.hypernet!.head.weight.copy_(rand(m.hypernet!.head.weight.shape).sub(0.5).mul(0.1)));
  return m.eval();
}

/** Prompt ids [K, P, T] with the end token (largest id) inside each row. */
function promptIds(m: HyperClip, k: number, p: number): Tensor {
  const { vocabSize, contextLength } = m.config.text;
  const ids = randint(1, vocabSize - 1, [k, p, contextLength]).data() as BigInt64Array;
  for (let r = 0; r < k * p; r++) ids[r * contextLength + 1 + (r % (contextLength - 1))] = BigInt(vocabSize - 1);
  return tensor(ids, [k, p, contextLength]);
}

for (const family of ['efficientnet', 'resnet'] as const) test(`generator and conditioned encoder (${family}) in onnxruntime reproduce HyperClip.classify`, async (t) => {
  manualSeed(17);
  const m = model(family);
  const generatorBytes = exportGenerator(m, 2);
  const encoderBytes = exportConditionedEncoder(m);
  const meta = readOnnxInfo(encoderBytes).metadata;
  const [scale, bias] = [Number(meta['hyperclip.logit_scale']), Number(meta['hyperclip.logit_bias'])];
  const generator = await openRunner(generatorBytes);
  const encoder = await openRunner(encoderBytes);
  const size = m.config.image.imageSize;
  for (const [k, n] of [[3, 2], [7, 5]] as const) {
    const ids = promptIds(m, k, 2);
    const generated = await generator.run({ ids: feedOf(ids) });
    const zeroShot = m.zeroShotClassifier(ids);
    const generatedDiff = maxAbsDiff(generated[CLASS_EMBEDDINGS]!.data as Float32Array, zeroShot.classEmbeddings.data() as Float32Array);
    assert.ok(generatedDiff <= 1e-5, `class embeddings differ by ${generatedDiff}`);

    const images = randn([n, 3, size, size]);
    const feeds: Record<string, FeedTensor> = { image: feedOf(images) };
    for (const name of encoder.inputNames) if (name !== 'image') feeds[name] = generated[name] as FeedTensor;
    const embeddings = (await encoder.run(feeds))[IMAGE_EMBEDDINGS]!;
    const classes = generated[CLASS_EMBEDDINGS]!;
    const logits = onnxLogits(embeddings.data as Float32Array, classes.data as Float32Array, n, k, scale, bias);
    const expected = noGrad(() => tidy(() => m.classify(images, zeroShot))).data() as Float32Array;
    const diff = maxAbsDiff(logits, expected);
    assert.ok(diff <= 1e-3, `logits differ by ${diff}`);
    assert.deepEqual(argmaxRows(logits, k), argmaxRows(expected, k));
    t.diagnostic(`K=${k} classes, N=${n} images: class embeddings ${generatedDiff.toExponential(2)}, logits ${diff.toExponential(2)}`);
  }
  await generator.release();
  await encoder.release();
  if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
  else assert.deepEqual(onnxCheckerErrors({ generator: generatorBytes, encoder: encoderBytes }), {});
});

/** scale * <x_n, y_k> + bias, [N, K]. */
function onnxLogits(x: Float32Array, y: Float32Array, n: number, k: number, scale: number, bias: number): Float32Array {
  const e = x.length / n;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let d = 0; d < e; d++) dot += x[i * e + d]! * y[j * e + d]!;
      out[i * k + j] = scale * dot + bias;
    }
  }
  return out;
}

test('exporting a generator from a model without hypernetwork is refused', () => {
  const baseline = new HyperClip(resolveConfig({ preset: 'test-tiny', hypernet: null })).eval();
  assert.throws(() => exportGenerator(baseline), /has no hypernetwork: there is no generator to export/);
});
