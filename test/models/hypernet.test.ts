import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, randn, tensor, tidy } from '../../src/engine/index.js';
import { selectNormLayers } from '../../src/models/index.js';
import { maxAbsDiff, perturbHead, randomBatch, tinyModel } from './helpers.js';

test('generated norm params have shape [tasks, C] for every chosen layer', () => {
  const { model } = tinyModel();
  tidy(() => {
    const params = model.generateNormParams(randn([3, 5, 16]));
    const layers = model.imageEncoder.normLayers();
    assert.equal(params.size, layers.length);
    for (const l of layers) assert.deepEqual(params.get(l.name)!.scale.shape, [3, l.channels]);
  });
  model.dispose();
});

test('the hypernetwork is order-invariant over the text set', () => {
  const { model } = tinyModel();
  perturbHead(model); // a zero head would make any input give the same output
  tidy(() => noGrad(() => {
    const set = randn([2, 6, 16]); // [tasks, set, E]
    const permuted = set.indexSelect(1, tensor([4, 2, 0, 5, 1, 3], undefined, { dtype: 'int64' }));
    const a = model.generateNormParams(set);
    const b = model.generateNormParams(permuted);
    let largest = 0;
    for (const [name, p] of a) {
      assert.ok(maxAbsDiff(p.scale, b.get(name)!.scale) < 1e-5);
      assert.ok(maxAbsDiff(p.shift, b.get(name)!.shift) < 1e-5);
      largest = Math.max(largest, maxAbsDiff(p.scale, model.generateNormParams(randn([2, 6, 16])).get(name)!.scale));
    }
    assert.ok(largest > 1e-3, 'a different set gives different params');
  }));
  model.dispose();
});

test('zero-initialised head: at step 0 the conditioned encoder is exactly the base encoder', () => {
  const { model, config } = tinyModel();
  tidy(() => noGrad(() => {
    const { images, ids } = randomBatch(config, 8);
    const texts = model.encodeText(ids).reshape([2, 4, config.embedDim]);
    const conditioned = model.encodeImage(images, model.generateNormParams(texts));
    const base = model.encodeImage(images);
    assert.equal(maxAbsDiff(conditioned, base), 0);
  }));
  model.dispose();
});

test('zero head also reproduces trained (non-identity) base norm parameters', () => {
  const { model, config } = tinyModel();
  noGrad(() => tidy(() => {
    for (const [name, t] of model.imageEncoder.namedParameters()) {
      if (name.endsWith('norm.weight')) t.copy_(randn(t.shape).mul(0.2).add(1));
      if (name.endsWith('norm.bias')) t.copy_(randn(t.shape).mul(0.2));
    }
  }));
  tidy(() => noGrad(() => {
    const { images, ids } = randomBatch(config, 8);
    const conditioned = model.encodeImage(images, model.generateNormParams(model.encodeText(ids).reshape([2, 4, config.embedDim])));
    assert.ok(maxAbsDiff(conditioned, model.encodeImage(images)) < 1e-5);
  }));
  model.dispose();
});

test('lastStages picks the norm layers of the last k stages', () => {
  const { model } = tinyModel({ hypernet: { normLayers: { lastStages: 2 } } });
  const layers = model.imageEncoder.normLayers();
  const lastStage = Math.max(...layers.map((l) => l.stage));
  const chosen = model.hypernet!.targets;
  assert.ok(chosen.length > 0 && chosen.length < layers.length);
  assert.ok(chosen.every((l) => l.stage >= lastStage - 1));
  assert.deepEqual(chosen.map((l) => l.name), layers.filter((l) => l.stage >= lastStage - 1).map((l) => l.name));
  assert.throws(() => selectNormLayers(layers, { lastStages: 99 }), /asks for the last 99 stages but the encoder has \d+/);
  model.dispose();
});

test('learned-token control ignores the text', () => {
  const { model } = tinyModel({ hypernet: { input: 'learned-tokens', learnedTokens: 3 } });
  perturbHead(model);
  tidy(() => noGrad(() => {
    const a = model.generateNormParams(randn([2, 4, 16]));
    const b = model.generateNormParams(randn([2, 4, 16]));
    for (const [name, p] of a) assert.equal(maxAbsDiff(p.scale, b.get(name)!.scale), 0);
  }));
  model.dispose();
});
