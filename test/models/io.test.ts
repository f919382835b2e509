import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AdamW, tidy } from '../../src/engine/index.js';
import { loadModel, saveModel } from '../../src/models/index.js';
import { maxAbsDiff, perturbHead, randomBatch, tempDir, tinyModel } from './helpers.js';

test('save and load round trip gives identical outputs', () => {
  const { model, config } = tinyModel();
  perturbHead(model);
  const { images, ids } = randomBatch(config, 8);
  // One training step so that weights and running statistics differ from init.
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  tidy(() => model.trainingLoss(images, ids, 4).backward());
  optimizer.step();
  model.eval();
  const dir = tempDir();
  saveModel(dir, model, config, { step: 1 });
  const loaded = loadModel(dir);
  loaded.model.eval();
  assert.deepEqual(loaded.config, config);
  assert.deepEqual(loaded.extra, { step: 1 });
  tidy(() => {
    const before = model.encodeImage(images, model.generateNormParams(model.encodeText(ids).reshape([2, 4, config.embedDim])));
    const after = loaded.model.encodeImage(images, loaded.model.generateNormParams(loaded.model.encodeText(ids).reshape([2, 4, config.embedDim])));
    assert.equal(maxAbsDiff(before, after), 0);
    assert.equal(model.trainingLoss(images, ids, 4).item(), loaded.model.trainingLoss(images, ids, 4).item());
  });
  model.dispose();
  loaded.model.dispose();
});

test('loading explains what is wrong', () => {
  const empty = tempDir();
  assert.throws(() => loadModel(empty), /cannot load a model from .*: config.json is missing \(save one with saveModel\)/);
  const { model, config } = tinyModel();
  const dir = tempDir();
  saveModel(dir, model, config);
  writeFileSync(path.join(dir, 'config.json'), '{ not json');
  assert.throws(() => loadModel(dir), /config.json is not valid JSON/);
  // Weights saved for a different architecture.
  const other = tinyModel({ text: { layers: 2 } });
  saveModel(dir, other.model, other.config);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ format: 'hyperclip-model', version: 1, config, extra: {} }));
  assert.throws(() => loadModel(dir), /cannot load .*model.safetensors: state dict does not match the model: unexpected textEncoder.transformer.blocks.1/);
  model.dispose();
  other.model.dispose();
});
