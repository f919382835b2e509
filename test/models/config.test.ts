import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualSeed } from '../../src/engine/index.js';
import { HyperClip, listPresets, resolveConfig } from '../../src/models/index.js';

test('every preset resolves, and the tiny pair differs only by the hypernetwork', () => {
  const names = listPresets().map((p) => p.name);
  for (const required of ['tiny-hyperclip', 'tiny-siglip', 'b0-hyperclip', 'b0-siglip', 'test-tiny']) assert.ok(names.includes(required), required);
  for (const name of names) assert.equal(resolveConfig(name).name, name);
  const hyper = resolveConfig('tiny-hyperclip');
  const siglip = resolveConfig('tiny-siglip');
  assert.notEqual(hyper.hypernet, null);
  assert.equal(siglip.hypernet, null);
  assert.deepEqual({ ...hyper, name: '', hypernet: null }, { ...siglip, name: '' });
  assert.equal(hyper.image.imageSize, 64);
  assert.equal(resolveConfig('b0-hyperclip').image.imageSize, 224);
});

test('overrides apply on a preset and are validated', () => {
  const c = resolveConfig({ preset: 'tiny-hyperclip', text: { layers: 2 }, hypernet: { normLayers: { lastStages: 2 } } });
  assert.equal(c.text.layers, 2);
  assert.equal(c.text.width, 128);
  assert.deepEqual(c.hypernet!.normLayers, { lastStages: 2 });
  assert.equal(resolveConfig({ hypernet: {} }).hypernet!.width, 128);
  assert.equal(resolveConfig({ preset: 'tiny-hyperclip', hypernet: null }).hypernet, null);
  const mnv3 = resolveConfig({ image: { family: 'mobilenetv3', variant: 'small' } });
  assert.equal(mnv3.image.family, 'mobilenetv3');
  const plain = resolveConfig({ preset: 'tiny-hyperclip', image: { family: 'resnet', stemStride: 1, imageSize: 32 } });
  assert.equal(plain.image.family, 'resnet');
  assert.equal(plain.image.imageSize, 32);
  assert.deepEqual({ ...resolveConfig('tiny-resnet-siglip'), name: '' }, { ...resolveConfig('tiny-resnet-hyperclip'), name: '', hypernet: null });
});

test('bad configs give one clear message', () => {
  assert.throws(() => resolveConfig('tiny'), /unknown model preset "tiny": valid presets are tiny-hyperclip, tiny-siglip, .*test-tiny/);
  assert.throws(() => resolveConfig({ preset: 'nope' }), /unknown model preset "nope"/);
  assert.throws(() => resolveConfig({ text: { width: 130, heads: 4 } }), /text.width 130 must be divisible by text.heads 4/);
  assert.throws(() => resolveConfig({ embedDim: -3 }), /expected a positive integer for embedDim but received -3/);
  assert.throws(() => resolveConfig({ text: { widht: 3 } as never }), /unknown config field text.widht: expected one of vocabSize, /);
  assert.throws(() => resolveConfig({ loss: { kind: 'softmax' as never } }), /expected one of siglip, clip for loss.kind but received "softmax"/);
  assert.throws(() => resolveConfig({ hypernet: { input: 'noise' as never } }), /expected one of text, learned-tokens for hypernet.input/);
  assert.throws(() => resolveConfig({ hypernet: { normLayers: 'some' as never } }), /expected 'all' or \{ lastStages: k \} for hypernet.normLayers/);
  assert.throws(() => resolveConfig({ image: { family: 'vit' as never } }), /unknown image.family "vit": expected efficientnet, mobilenetv3, resnet/);
  assert.throws(() => resolveConfig({ image: { family: 'resnet', stemStride: 4 } }), /expected one of 1, 2 for image.stemStride but received "4"/);
  assert.throws(() => resolveConfig({ image: { family: 'resnet', stages: [{ channels: 8, blocks: 0, stride: 1 }] } }), /expected a positive integer for image.stages\[0\].blocks but received 0/);
  assert.throws(() => resolveConfig({ image: { family: 'resnet', expand: 4 } as never }), /unknown config field image.expand/);
  assert.throws(() => resolveConfig({ image: { family: 'resnet', dropPath: 0.1 } }), /unknown config field image.dropPath/);
  assert.throws(() => resolveConfig({ image: { imageSize: 8 } }), /image.imageSize must be at least 16 pixels, got 8/);
});

test('parameter counts of the presets (printed for the log)', (t) => {
  const rows: string[] = [];
  for (const { name } of listPresets()) {
    manualSeed(0);
    const config = resolveConfig(name);
    const model = new HyperClip(config);
    const count = (m: { parameterCount(): number } | null) => (m === null ? 0 : m.parameterCount());
    rows.push(`${name}: total ${model.parameterCount()}, image encoder ${count(model.imageEncoder)} (features ${model.imageEncoder.featureDim}, ` +
      `${model.imageEncoder.normLayers().length} norm layers), text encoder ${count(model.textEncoder)}, hypernetwork ${count(model.hypernet)}, ` +
      `embed ${config.embedDim}, ${config.image.imageSize} px`);
    assert.ok(model.parameterCount() > 0);
    model.dispose();
  }
  for (const row of rows) t.diagnostic(row);
  console.log(rows.join('\n'));
});
