// generateClassifier: a model folder and class names in, a classifier file
// out whose probabilities match the libtorch forward on the same pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, manualSeed, noGrad, rand, tensor, tidy } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { evalPreprocess } from '../../src/data/preprocess.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import type { Bundle } from '../../src/bundle/bundle.js';
import { generateClassifier } from '../../src/deploy/generate.js';
import { buildClassifier } from '../../src/eval/zeroshot.js';
import { classify, loadClassifier } from '../../src/deploy/runtime/node.js';
import { onnx } from '../../src/deploy/onnx/proto.js';
import { argmaxRows, assertParity, maxAbsDiff, runOnnx } from './helpers.js';
import { cifarImages } from './real-images.js';
import { decodeImage } from '../../src/data/images.js';

function tinyBundle(image: 'efficientnet' | 'resnet' = 'efficientnet'): Bundle {
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({
    preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength },
    ...(image === 'resnet' ? { image: { family: 'resnet', widthMultiplier: 0.25, headChannels: 64 } } : {}),
  });
  const model = new HyperClip(config);
  noGrad(() => {
    const head = model.hypernet!.head;
    head.weight.copy_(rand(head.weight.shape).sub(0.5).mul(0.1));
  });
  model.eval();
  return { dir: '/nonexistent/test-bundle', model, config, tokenizer, preprocess: evalPreprocess(config.image.imageSize), extra: {} };
}

const CLASSES = ['cat', 'dog', 'red car', 'café', '東京タワー', 'a very long class name '.repeat(20).trim()];

const TEMPLATES = ['a photo of a {}.', 'a drawing of a {}.'];

/** Real CIFAR-10 images, preprocessed exactly as evaluation does: [N, 3, S, S] normalised. */
async function realPixels(bundle: Bundle, count: number): Promise<Float32Array> {
  const size = bundle.preprocess.size;
  const images = await cifarImages(count);
  const pixels = new Float32Array(count * 3 * size * size);
  for (const [i, image] of images.entries()) await decodeImage(image.jpeg, bundle.preprocess, 0, pixels, i * 3 * size * size);
  return pixels;
}

for (const family of ['efficientnet', 'resnet'] as const) test(`a generated classifier (${family}) gives the logits of the engine forward on real images, and its metadata`, async (t) => {
  manualSeed(14);
  const bundle = tinyBundle(family);
  const generated = generateClassifier(bundle, { classNames: CLASSES, templates: TEMPLATES, output: 'logits' });
  t.diagnostic(`${CLASSES.length} classes: generate ${generated.timings.generate.toFixed(3)} s, export ${generated.timings.export.toFixed(3)} s, ${generated.bytes.byteLength} bytes`);
  const ops = new Set(onnx.ModelProto.decode(generated.bytes).graph!.node!.map((n) => n.opType));
  assert.ok(!ops.has('BatchNormalization'), 'norm parameters are folded into the convolutions');
  const size = bundle.preprocess.size;
  const pixels = await realPixels(bundle, 8);
  const engineLogits = noGrad(() => tidy(() => bundle.model.classify(tensor(pixels, [8, 3, size, size]), buildClassifier(bundle, CLASSES, TEMPLATES))));
  const onnxLogits = (await runOnnx(generated.bytes, { image: { data: pixels, dims: [8, 3, size, size] } })).logits!;
  const diff = assertParity(onnxLogits, engineLogits, 1e-3, 'generated classifier logits on 8 CIFAR-10 test images');
  t.diagnostic(`generated classifier vs HyperClip.classify on 8 real images: max abs logit diff ${diff.toExponential(2)}`);

  const classifier = await loadClassifier(generated.bytes);
  assert.deepEqual(classifier.metadata.classNames, CLASSES);
  assert.equal(classifier.metadata.output, 'logits');
  const predictions = await classify(classifier, pixels, { topk: 1, normalized: true });
  assert.deepEqual(predictions.map((p) => p.topk[0]!.index), argmaxRows(engineLogits.data() as Float32Array, CLASSES.length));
  await classifier.runner.release();
});

test('a softmax classifier from generateClassifier gives the engine probabilities through classify()', async () => {
  manualSeed(15);
  const bundle = tinyBundle();
  const generated = generateClassifier(bundle, { classNames: CLASSES, templates: TEMPLATES });
  const classifier = await loadClassifier(generated.bytes);
  assert.equal(classifier.metadata.output, 'softmax');
  const size = bundle.preprocess.size;
  const pixels = await realPixels(bundle, 3);
  const predictions = await classify(classifier, pixels, { topk: CLASSES.length, normalized: true });
  const expected = noGrad(() => tidy(() => F.softmax(bundle.model.classify(tensor(pixels, [3, 3, size, size]), buildClassifier(bundle, CLASSES, TEMPLATES)), -1))).toArray();
  const got = predictions.flatMap((p) => p.topk.slice().sort((a, b) => a.index - b.index).map((s) => s.probability));
  assert.ok(maxAbsDiff(got, expected) <= 1e-5, `probabilities differ by ${maxAbsDiff(got, expected)}`);
  await classifier.runner.release();
});

test('generateClassifier refuses empty and duplicate class lists', () => {
  const bundle = tinyBundle();
  assert.throws(() => generateClassifier(bundle, { classNames: [], templates: ['{}'] }), { message: 'classes: the class list is empty: give at least one class name' });
  assert.throws(() => generateClassifier(bundle, { classNames: ['cat', 'Cat'], templates: ['{}'] }), { message: 'classes: class "Cat" appears twice: give each class once' });
  assert.throws(() => generateClassifier(bundle, { classNames: ['cat', ' '], templates: ['{}'] }), { message: 'classes: class 2 is empty: remove it or give it a name' });
});
