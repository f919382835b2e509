// Generation without libtorch: the exported generator and encoder, run and
// specialised on onnxruntime, give the classifier that the libtorch path
// traces, on real images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, rand } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { evalPreprocess } from '../../src/data/preprocess.js';
import { decodeImage } from '../../src/data/images.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import type { Bundle } from '../../src/bundle/bundle.js';
import { generateClassifier } from '../../src/deploy/generate.js';
import { exportConditionedEncoder, exportGenerator } from '../../src/deploy/export-models.js';
import { generateOnRuntime } from '../../src/deploy/runtime/generate.js';
import { openRunner } from '../../src/deploy/runtime/node.js';
import { onnx } from '../../src/deploy/onnx/proto.js';
import { argmaxRows, CHECKER_SKIP, maxAbsDiff, onnxCheckerAvailable, onnxCheckerError, runOnnx } from './helpers.js';
import { cifarImages } from './real-images.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const TEMPLATES = ['a photo of a {}.', 'a blurry photo of a {}.'];

test('a classifier generated on onnxruntime alone matches the libtorch-generated one on real images', async (t) => {
  manualSeed(18);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = new HyperClip(config);
  noGrad(() => model.hypernet!.head.weight.copy_(rand(model.hypernet!.head.weight.shape).sub(0.5).mul(0.1)));
  model.eval();
  const preprocess = evalPreprocess(config.image.imageSize);
  const bundle: Bundle = { dir: '/nonexistent/test-bundle', model, config, tokenizer, preprocess, extra: {} };

  const reference = generateClassifier(bundle, { classNames: CLASSES, templates: TEMPLATES, output: 'logits' });
  const runtime = await generateOnRuntime(exportGenerator(model, TEMPLATES.length), exportConditionedEncoder(model), tokenizer,
    { classNames: CLASSES, templates: TEMPLATES, output: 'logits', mean: preprocess.mean, std: preprocess.std }, openRunner);
  t.diagnostic(`runtime generation: generator ${runtime.timings.generate.toFixed(3)} s, specialisation ${runtime.timings.build.toFixed(3)} s, ${runtime.bytes.byteLength} bytes`);
  const opsOf = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!).sort();
  const ops = opsOf(runtime.bytes);
  assert.deepEqual(ops.filter((op) => op === 'BatchNormalization' || op === 'Transpose'), [], 'norm parameters folded into the convolutions');
  assert.equal(ops.filter((op) => op === 'Conv').length, opsOf(reference.bytes).filter((op) => op === 'Conv').length);

  const size = preprocess.size;
  const images = await cifarImages(10);
  const pixels = new Float32Array(10 * 3 * size * size);
  for (const [i, image] of images.entries()) await decodeImage(image.jpeg, preprocess, 0, pixels, i * 3 * size * size);
  const feed = { image: { data: pixels, dims: [10, 3, size, size] } };
  const [expected, actual] = [(await runOnnx(reference.bytes, feed)).logits!, (await runOnnx(runtime.bytes, feed)).logits!];
  const diff = maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array);
  assert.ok(diff <= 1e-3, `logits differ by ${diff}`);
  assert.deepEqual(argmaxRows(actual.data as Float32Array, 10), argmaxRows(expected.data as Float32Array, 10));
  t.diagnostic(`onnxruntime-only vs libtorch-generated classifier on 10 CIFAR-10 test images: max abs logit diff ${diff.toExponential(2)}`);
  if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
  else assert.equal(onnxCheckerError(runtime.bytes), null);
});
