import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualSeed, noGrad, ones, randn, tidy, zeros, F } from '../../src/engine/index.js';
import { createImageEncoder, resolveConfig, type ImageEncoderConfig, type ResNet } from '../../src/models/index.js';
import { maxAbsDiff } from './helpers.js';

const efficient = (): ImageEncoderConfig => resolveConfig('test-tiny').image;
const mobile = (): ImageEncoderConfig => resolveConfig({ preset: 'test-tiny', image: { family: 'mobilenetv3', variant: 'small', widthMultiplier: 0.25 } }).image;
const plain = (): ImageEncoderConfig => resolveConfig({ preset: 'test-tiny', image: { family: 'resnet', widthMultiplier: 0.25, headChannels: 64 } }).image;

for (const [label, makeConfig] of [['EfficientNet', efficient], ['MobileNetV3', mobile], ['ResNet', plain]] as const) {
  test(`${label}: [N, 3, H, W] -> [N, featureDim], norm layers named and staged`, () => {
    manualSeed(0);
    const encoder = createImageEncoder(makeConfig());
    tidy(() => {
      const out = encoder.forward(randn([3, 3, 32, 32]));
      assert.deepEqual(out.shape, [3, encoder.featureDim]);
      const layers = encoder.normLayers();
      assert.equal(new Set(layers.map((l) => l.name)).size, layers.length);
      assert.equal(layers[0]!.stage, 0);
      assert.ok(layers.every((l, i) => i === 0 || l.stage >= layers[i - 1]!.stage), 'stages ascend in forward order');
      const names = new Set([...encoder.namedModules()].map(([n]) => n));
      for (const l of layers) assert.ok(names.has(l.name), `${l.name} is a module path`);
    });
    encoder.dispose();
  });
}

test('a per-sample norm override changes only its own sample (eval mode: running statistics)', () => {
  manualSeed(1);
  const encoder = createImageEncoder(efficient());
  const layer = encoder.normLayers().at(-1)!;
  tidy(() => noGrad(() => {
    const images = randn([2, 3, 32, 32]);
    for (let i = 0; i < 30; i++) encoder.forward(randn([8, 3, 32, 32])); // running statistics
    encoder.eval();
    const base = encoder.forward(images);
    // Sample 0 gets scale 2, sample 1 keeps the identity affine.
    const scale = F.cat([ones([1, layer.channels]).mul(2), ones([1, layer.channels])], 0);
    const shift = zeros([2, layer.channels]);
    const changed = encoder.forward(images, new Map([[layer.name, { scale, shift }]]));
    assert.ok(maxAbsDiff(base.narrow(0, 0, 1), changed.narrow(0, 0, 1)) > 1e-4);
    assert.ok(maxAbsDiff(base.narrow(0, 1, 1), changed.narrow(0, 1, 1)) < 1e-6);
  }));
  encoder.dispose();
});

test('channels-last and contiguous encoders compute the same function', () => {
  manualSeed(2);
  const a = createImageEncoder({ ...efficient(), channelsLast: true });
  manualSeed(2);
  const b = createImageEncoder({ ...efficient(), channelsLast: false });
  assert.ok(a.parameters().some((p) => p.ndim === 4 && p.isContiguous('channels-last') && !p.isContiguous()));
  tidy(() => {
    const images = randn([4, 3, 32, 32]);
    assert.ok(maxAbsDiff(a.forward(images), b.forward(images)) < 1e-4);
  });
  a.dispose();
  b.dispose();
});

test('stochastic depth drops residual branches in training only', () => {
  manualSeed(3);
  const encoder = createImageEncoder({ ...efficient(), depthMultiplier: 1, dropPath: 0.5 } as ImageEncoderConfig); // depth 1: stages with residual blocks
  tidy(() => noGrad(() => {
    const images = randn([4, 3, 32, 32]);
    assert.ok(maxAbsDiff(encoder.forward(images), encoder.forward(images)) > 1e-6);
    encoder.eval();
    assert.equal(maxAbsDiff(encoder.forward(images), encoder.forward(images)), 0);
  }));
  encoder.dispose();
});

test('ResNet: strided stages shrink the map, a shortcut projects only where the shape changes, norms cover every conv', () => {
  manualSeed(3);
  const config = resolveConfig({ preset: 'test-tiny', image: { family: 'resnet', widthMultiplier: 0.25, headChannels: 64,
    stages: [{ channels: 32, blocks: 2, stride: 1 }, { channels: 64, blocks: 1, stride: 2 }] } }).image;
  const encoder = createImageEncoder(config) as ResNet;
  assert.equal(encoder.blocks.length, 3);
  assert.deepEqual(encoder.blocks.map((b) => b.shortcut !== null), [false, false, true], 'stem 8 -> 8 channels, then 8 -> 16 at stride 2');
  // stem + 2 convs per block + 1 shortcut + head
  assert.equal(encoder.normLayers().length, 1 + 2 * 3 + 1 + 1);
  assert.deepEqual(encoder.normLayers().map((l) => l.stage), [0, 1, 1, 1, 1, 2, 2, 2, 3]);
  tidy(() => {
    const images = randn([2, 3, 32, 32]);
    // Stem stride 2 (32 -> 16), stage 2 stride 2 (16 -> 8): the head's map is 8 x 8 before pooling.
    const x = encoder.blocks.reduce((h, block) => block.forward(h), encoder.stem.forward(images));
    assert.deepEqual(x.shape, [2, 16, 8, 8]);
    assert.ok(x.amin().item() >= 0, 'a block ends in ReLU');
  });
  encoder.dispose();
});
