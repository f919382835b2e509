// The package's API on Node, on the shipped default model and real CIFAR-10
// test images: both engines give the same classifier (which also checks that
// models/default's ONNX files compute what its weights do), every input
// form gives the same labels, and bad input gets a readable error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { generate, HyperclipModel, loadClassifier, loadModel, type LabelScore } from '../../src/index.js';
import { cifarImages } from '../deploy/real-images.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const INDEX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/index.js');

function assertSameLabels(actual: LabelScore[][], expected: LabelScore[][], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((labels, i) => labels.forEach((l, j) => {
    assert.equal(l.label, expected[i]![j]!.label, `image ${i}, rank ${j}`);
    assert.ok(Math.abs(l.probability - expected[i]![j]!.probability) <= tolerance, `image ${i}, rank ${j}: ${l.probability} vs ${expected[i]![j]!.probability}`);
  }));
}

test('the onnx and libtorch engines generate the same classifier from the default model', async () => {
  const images = (await cifarImages(4)).map((i) => i.jpeg);
  const model = loadModel();
  assert.equal(model.hasOnnx, true);
  assert.equal(model.engineFor('auto'), 'onnx');
  const onnx = await model.generate(CLASSES, { engine: 'onnx' });
  const torch = await model.generate(CLASSES, { engine: 'libtorch' });
  assert.deepEqual(onnx.classNames, CLASSES);
  assert.deepEqual(torch.metadata.inputSize, onnx.metadata.inputSize);
  const fromOnnx = await onnx.classify(images, { topK: 5 });
  assertSameLabels(await torch.classify(images, { topK: 5 }), fromOnnx, 1e-4);
  await Promise.all([onnx.release(), torch.release()]);
});

test('files, buffers, decoded pixels and raw tensors classify alike; save and load keep the classifier', async () => {
  const [{ jpeg }] = await cifarImages(1);
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-api-'));
  try {
    const classifier = await generate(CLASSES, { model: loadModel() });
    const file = path.join(dir, 'image.jpg');
    writeFileSync(file, jpeg);
    const fromFile = await classifier.classify(file, { topK: 3 });
    assert.equal(fromFile.length, 3);
    assert.deepEqual(await classifier.classify(jpeg, { topK: 3 }), fromFile);
    const { data, info } = await sharp(jpeg).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual(await classifier.classify({ data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels }, { topK: 3 }), fromFile);

    // A raw tensor: RGB in [0, 1] at the input size (the 32x32 image resized to 64x64 by sharp, so the numbers differ slightly).
    const size = classifier.inputSize;
    const resized = await sharp(jpeg).resize(size, size, { kernel: 'cubic' }).raw().toBuffer();
    const pixels = new Float32Array(3 * size * size);
    for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) pixels[c * size * size + i] = resized[3 * i + c]! / 255;
    const [fromTensor] = await classifier.classifyTensor(pixels, { topK: 1 });
    assert.ok(CLASSES.includes(fromTensor![0]!.label));
    const normalized = await classifier.decode(jpeg);
    assert.deepEqual((await classifier.classifyTensor(normalized, { topK: 3, normalized: true }))[0], fromFile);

    const saved = path.join(dir, 'pets.onnx');
    await classifier.save(saved);
    const reloaded = await loadClassifier(saved);
    assert.deepEqual(reloaded.classNames, CLASSES);
    assert.deepEqual(await reloaded.classify(file, { topK: 3 }), fromFile);
    assert.deepEqual(await classifier.classify([], { topK: 3 }), []);
    await Promise.all([classifier.release(), reloaded.release()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the API explains bad input in one line', async () => {
  const classifier = await generate(['cat', 'dog']);
  await assert.rejects(classifier.classify('/nowhere/cat.jpg'), /^Error: no such image file: \/nowhere\/cat\.jpg$/);
  await assert.rejects(classifier.classify(Buffer.from('junk')), /^Error: an image buffer of 4 bytes is not an image that sharp can read/);
  await assert.rejects(classifier.classifyTensor(new Float32Array(5)), /not a whole number of 3x\d+x\d+ images/);
  await classifier.release();
  await assert.rejects(generate([]), /the class list is empty/);
  await assert.rejects(generate(['cat', 'Cat']), /class "Cat" appears twice/);
  await assert.rejects(generate(['cat'], { engine: 'tensorflow' as never }), /engine must be auto, onnx or libtorch, got "tensorflow"/);
  assert.throws(() => HyperclipModel.load('/nowhere/model'), /^Error: no model folder at \/nowhere\/model/);
  await assert.rejects(loadClassifier('/nowhere/pets.onnx'), /classifier file not found: \/nowhere\/pets\.onnx/);
});

test('train and evaluate without the addon fail with one line that says how to build it', () => {
  const script = `const h = await import(${JSON.stringify(INDEX)});
    for (const run of [() => h.train({ preset: 'test-tiny', out: '/nowhere/run' }), () => h.evaluate({ limit: 4 })]) {
      try { await run(); console.log('ran'); } catch (err) { console.log(err.message); }
    }`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...process.env, HYPERCLIP_ADDON: '/nowhere/hyperclip_torch.node' },
  });
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.equal(line, 'training, evaluation and the libtorch engine need the libtorch addon, which is not built (/nowhere/hyperclip_torch.node): ' +
      'install libtorch (Debian: apt-get install libtorch-dev, or LIBTORCH=/path/to/libtorch) and run `npm run build:native` in the hyperclip folder ' +
      '(a clone of the repository: `bash scripts/setup.sh`)');
  }
});
