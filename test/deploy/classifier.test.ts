// A classifier file end to end: export with metadata, save atomically, load
// in onnxruntime-node, classify [0, 1] pixels; the metadata survives the trip
// and the probabilities match the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { F, manualSeed, noGrad, rand, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { exportOnnx, saveOnnx } from '../../src/deploy/onnx/writer.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { classifierMetadataProps, parseClassifierMetadata, type ClassifierMetadata } from '../../src/deploy/metadata.js';
import { classify, loadClassifier, nodeOrt } from '../../src/deploy/runtime/node.js';
import { loadClassifierWeb } from '../../src/deploy/runtime/web.js';
import { TinyCnn } from './modules.js';
import { maxAbsDiff } from './helpers.js';

const META: ClassifierMetadata = {
  classNames: ['cat', 'dog', 'café au lait', '猫 (neko)', 'a "quoted", comma class'],
  inputSize: [16, 16],
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
  output: 'softmax',
  sourceModel: 'test/TinyCnn seed 5',
  modelCard: '# Tiny test model\nNot trained; for round-trip tests only. Ünïcödé ok.',
};

/** The classifier the file should hold, run by the engine: normalise, forward, softmax. */
function engineProbabilities(model: TinyCnn, pixels: Tensor): Tensor {
  return noGrad(() => tidy(() => {
    const mean = tensor(META.mean, [1, 3, 1, 1]);
    const std = tensor(META.std, [1, 3, 1, 1]);
    return F.softmax(model.forward(pixels.sub(mean).div(std)), -1); // [N, K]
  }));
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-classifier-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('classifier metadata round-trips through the ONNX file, and classify matches the engine', async (t) => {
  manualSeed(5);
  const model = new TinyCnn().eval();
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'classifier.onnx');
    const size = saveOnnx(file, ({ image }) => F.softmax(model.forward(image!), -1), [{ name: 'image', tensor: rand([2, 3, 16, 16]), dynamicBatch: true }],
      { outputNames: ['probabilities'], metadata: classifierMetadataProps(META), names: model.stateDict() });
    assert.deepEqual(readdirSync(dir), ['classifier.onnx'], 'the atomic write leaves no temporary file');
    t.diagnostic(`classifier file: ${size} bytes`);

    const classifier = await loadClassifier(file);
    assert.deepEqual(classifier.metadata, META);
    const pixels = rand([7, 3, 16, 16]);
    const predictions = await classify(classifier, pixels.data() as Float32Array, { topk: 3, batchSize: 3 });
    const expected = engineProbabilities(model, pixels);
    const rows = expected.toArray();
    assert.equal(predictions.length, 7);
    let worst = 0;
    predictions.forEach((p, i) => {
      const row = rows.slice(i * 5, (i + 1) * 5);
      const order = row.map((_, c) => c).sort((a, b) => row[b]! - row[a]!);
      assert.deepEqual(p.topk.map((s) => s.index), order.slice(0, 3), `image ${i}: top-3 order`);
      assert.deepEqual(p.topk.map((s) => s.label), order.slice(0, 3).map((c) => META.classNames[c]));
      worst = Math.max(worst, maxAbsDiff(p.topk.map((s) => s.probability), order.slice(0, 3).map((c) => row[c]!)));
    });
    assert.ok(worst <= 1e-5, `probabilities differ from the engine by ${worst}`);
    t.diagnostic(`classify vs engine: max abs probability diff ${worst.toExponential(2)}`);
    await classifier.runner.release();
  });
});

test('a logits classifier gets its softmax in the runtime; topk is capped at the class count', async () => {
  manualSeed(6);
  const model = new TinyCnn().eval();
  const bytes = exportOnnx(({ image }) => model.forward(image!), [{ name: 'image', tensor: rand([2, 3, 16, 16]), dynamicBatch: true }],
    { metadata: classifierMetadataProps({ ...META, output: 'logits' }) });
  const classifier = await loadClassifier(bytes);
  const pixels = rand([2, 3, 16, 16]);
  const predictions = await classify(classifier, pixels.data() as Float32Array, { topk: 50 });
  const expected = engineProbabilities(model, pixels).toArray();
  assert.equal(predictions[0]!.topk.length, 5);
  const sum = predictions[0]!.topk.reduce((a, s) => a + s.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
  const byIndex = predictions[1]!.topk.slice().sort((a, b) => a.index - b.index).map((s) => s.probability);
  assert.ok(maxAbsDiff(byIndex, expected.slice(5, 10)) <= 1e-5);
});

test('classify and loadClassifier explain bad input', async () => {
  manualSeed(7);
  const model = new TinyCnn().eval();
  const bytes = exportOnnx(({ image }) => model.forward(image!), [{ name: 'image', tensor: rand([2, 3, 16, 16]), dynamicBatch: true }],
    { metadata: classifierMetadataProps(META) });
  const classifier = await loadClassifier(bytes);
  await assert.rejects(classify(classifier, new Float32Array(100)), { message: 'classify: got 100 values, not a whole number of 3x16x16 images (NCHW float32)' });
  await assert.rejects(classify(classifier, new Float32Array(0)), /got 0 values/);
  await assert.rejects(classify(classifier, new Float32Array(768), { topk: 0 }), { message: 'classify: topk must be a positive integer, got 0' });
  await assert.rejects(loadClassifier('/nonexistent/dir/model.onnx'), { message: 'classifier file not found: /nonexistent/dir/model.onnx' });
  await assert.rejects(loadClassifier(new Uint8Array([1, 2, 3, 250, 251])), /^Error: not an ONNX model/);
  const plain = exportOnnx(({ x }) => x!.relu(), [{ name: 'x', tensor: rand([2, 3]) }]);
  await assert.rejects(loadClassifier(plain), /this ONNX file is not a hyperclip classifier/);
});

test('classifier metadata is validated on write and on read', () => {
  assert.throws(() => classifierMetadataProps({ ...META, classNames: [] }), { message: 'classifier metadata: class names must be a non-empty list of strings' });
  assert.throws(() => classifierMetadataProps({ ...META, inputSize: [16, 0] }), /input size must be \[height, width\] positive integers/);
  assert.throws(() => classifierMetadataProps({ ...META, std: [1, 0, 1] }), /mean and std must be 3 numbers each/);
  const props = classifierMetadataProps(META);
  assert.throws(() => parseClassifierMetadata({ ...props, 'hyperclip.classes': '["a",' }), /hyperclip.classes is not valid JSON/);
  const { ['hyperclip.mean']: _, ...withoutMean } = props;
  assert.throws(() => parseClassifierMetadata(withoutMean), { message: 'classifier metadata lacks hyperclip.mean; regenerate the classifier' });
  const info = readOnnxInfo(exportOnnx(({ x }) => x!.relu(), [{ name: 'x', tensor: rand([2, 3]) }], { metadata: props }));
  assert.deepEqual(info.metadata, props);
  assert.equal(info.producerName, 'hyperclip');
  assert.equal(info.opset, 17);
});

test('the browser entry point works with any onnxruntime module, from a URL', async () => {
  manualSeed(8);
  const model = new TinyCnn().eval();
  const bytes = exportOnnx(({ image }) => F.softmax(model.forward(image!), -1), [{ name: 'image', tensor: rand([2, 3, 16, 16]), dynamicBatch: true }],
    { metadata: classifierMetadataProps(META) });
  // onnxruntime-node stands in for onnxruntime-web: both expose the onnxruntime-common API the adapter uses.
  const url = `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`;
  const classifier = await loadClassifierWeb(url, nodeOrt, { executionProviders: ['cpu'] });
  const pixels = rand([2, 3, 16, 16]);
  const [web, node] = [await classify(classifier, pixels.data() as Float32Array), await classify(await loadClassifier(bytes), pixels.data() as Float32Array)];
  assert.deepEqual(web, node);
  await assert.rejects(loadClassifierWeb('data:,not-onnx', nodeOrt, {}), /not an ONNX model/);
});
