// A locked pretrained image encoder is saved as a reference to its TFLite file
// (with the file's sha256), never as weights, and loads back identical.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadSafetensors, noGrad, randn, tidy } from '../../src/engine/index.js';
import { loadModel, saveModel } from '../../src/models/index.js';
import { initFromRun } from '../../src/train/init-from-run.js';
import { maxAbsDiff, tempDir, tinyModel } from './helpers.js';

const FROM = 'pretrained:mobilenet_v1_0.25_128_quant';
const MOBILENET = { image: { family: 'mobilenetv1' as const, widthMultiplier: 0.25, imageSize: 32 } };

test('a frozen pretrained encoder is saved as a reference and loads back identical', () => {
  const { model } = tinyModel(MOBILENET);
  initFromRun(model, { from: FROM, parts: ['imageEncoder'] });
  model.eval();
  const dir = tempDir();
  saveModel(dir, model, model.config, {}, { pretrained: { part: 'imageEncoder', from: FROM } });
  const stored = loadSafetensors(path.join(dir, 'model.safetensors')).tensors;
  assert.equal([...stored.keys()].some((n) => n.includes('imageEncoder.')), false, 'no encoder weight is written');
  assert.ok(stored.has('model.imageProjection.weight') || [...stored.keys()].some((n) => n.includes('imageProjection')));
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(config.pretrained.from, FROM);
  assert.match(config.pretrained.sha256, /^[0-9a-f]{64}$/);

  const images = randn([2, 3, 32, 32]);
  const before = noGrad(() => model.encodeImage(images));
  const loaded = loadModel(dir).model.eval();
  assert.ok(maxAbsDiff(before, noGrad(() => loaded.encodeImage(images))) < 1e-6);

  // A file that is not the one trained on is refused.
  config.pretrained.sha256 = '0'.repeat(64);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  assert.throws(() => loadModel(dir), /is not the file this model was trained on/);
});

test('an encoder that changed after import cannot be saved as a reference', () => {
  const { model } = tinyModel(MOBILENET);
  initFromRun(model, { from: FROM, parts: ['imageEncoder'] });
  const [, weight] = [...model.imageEncoder.namedParameters()][0]!;
  noGrad(() => tidy(() => weight.copy_(weight.add(1e-3))));
  assert.throws(() => saveModel(tempDir(), model, model.config, {}, { pretrained: { part: 'imageEncoder', from: FROM } }), /differs from pretrained:/);
});
