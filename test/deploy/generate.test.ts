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
import { maxAbsDiff } from './helpers.js';

function tinyBundle(): Bundle {
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = new HyperClip(config);
  noGrad(() => {
    const head = model.hypernet!.head;
    head.weight.copy_(rand(head.weight.shape).sub(0.5).mul(0.1));
  });
  model.eval();
  return { dir: '/nonexistent/test-bundle', model, config, tokenizer, preprocess: evalPreprocess(config.image.imageSize), extra: {} };
}

const CLASSES = ['cat', 'dog', 'red car', 'café', '東京タワー', 'a very long class name '.repeat(20).trim()];

test('a generated classifier matches the engine forward and carries its metadata', async (t) => {
  manualSeed(14);
  const bundle = tinyBundle();
  const generated = generateClassifier(bundle, { classNames: CLASSES, templates: ['a photo of a {}.', 'a drawing of a {}.'] });
  t.diagnostic(`${CLASSES.length} classes: generate ${generated.timings.generate.toFixed(3)} s, export ${generated.timings.export.toFixed(3)} s, ${generated.bytes.byteLength} bytes`);
  const ops = new Set(onnx.ModelProto.decode(generated.bytes).graph!.node!.map((n) => n.opType));
  assert.ok(!ops.has('BatchNormalization'), 'norm parameters are folded into the convolutions');
  const classifier = await loadClassifier(generated.bytes);
  assert.deepEqual(classifier.metadata.classNames, CLASSES);
  assert.equal(classifier.metadata.output, 'softmax');
  const size = bundle.config.image.imageSize;
  const pixels = rand([4, 3, size, size]);
  const predictions = await classify(classifier, pixels.data() as Float32Array, { topk: CLASSES.length });
  const zeroShotProbabilities = noGrad(() => tidy(() => {
    const zs = buildClassifier(bundle, CLASSES, ['a photo of a {}.', 'a drawing of a {}.']);
    const normalized = pixels.sub(tensor(bundle.preprocess.mean, [1, 3, 1, 1])).div(tensor(bundle.preprocess.std, [1, 3, 1, 1]));
    return F.softmax(bundle.model.classify(normalized, zs), -1); // [N, K]
  })).toArray();
  let worst = 0;
  predictions.forEach((p, i) => {
    const byIndex = p.topk.slice().sort((a, b) => a.index - b.index).map((s) => s.probability);
    const expected = zeroShotProbabilities.slice(i * CLASSES.length, (i + 1) * CLASSES.length);
    worst = Math.max(worst, maxAbsDiff(byIndex, expected));
    assert.equal(p.topk[0]!.index, expected.indexOf(Math.max(...expected)), `image ${i}: top-1`);
  });
  assert.ok(worst <= 1e-4, `probabilities differ from the engine by ${worst}`);
  t.diagnostic(`generated classifier vs engine: max abs probability diff ${worst.toExponential(2)}`);
  await classifier.runner.release();
});

test('generateClassifier refuses empty and duplicate class lists', () => {
  const bundle = tinyBundle();
  assert.throws(() => generateClassifier(bundle, { classNames: [], templates: ['{}'] }), { message: 'classes: the class list is empty' });
  assert.throws(() => generateClassifier(bundle, { classNames: ['cat', 'Cat'], templates: ['{}'] }), { message: 'classes: class "Cat" appears twice' });
  assert.throws(() => generateClassifier(bundle, { classNames: ['cat', ' '], templates: ['{}'] }), { message: 'classes: a class name is empty' });
});
