import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLIP_MEAN, CLIP_STD, centerCropBox, chooseAugmentation, evalPreprocess, hwcToNormalizedChw,
  randomResizedCropBox, resolvePreprocess, trainPreprocess,
} from '../../src/data/preprocess.js';
import { createRng } from '../../src/data/random.js';

test('HWC uint8 -> normalised CHW float32, with flip, grey and alpha', () => {
  // 2x1 image: left pixel (255, 0, 128), right pixel (0, 255, 64).
  const rgb = Uint8Array.from([255, 0, 128, 0, 255, 64]);
  const mean = [0.5, 0.5, 0.5];
  const std = [0.5, 0.25, 1];
  const out = hwcToNormalizedChw(rgb, 2, 1, 3, mean, std);
  const expected = [1, -1, -2, 2, 128 / 255 - 0.5, 64 / 255 - 0.5];
  out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `value ${i}: ${v} vs ${expected[i]}`));
  const flipped = hwcToNormalizedChw(rgb, 2, 1, 3, mean, std, true);
  const mirrored = [-1, 1, 2, -2, 64 / 255 - 0.5, 128 / 255 - 0.5];
  flipped.forEach((v, i) => assert.ok(Math.abs(v - mirrored[i]) < 1e-6, `flipped ${i}: ${v} vs ${mirrored[i]}`));
  const grey = hwcToNormalizedChw(Uint8Array.from([255, 0]), 2, 1, 1, mean, std);
  assert.deepEqual([...grey].map((v) => Math.round(v * 1000) / 1000), [1, -1, 2, -2, 0.5, -0.5]);
  const rgba = hwcToNormalizedChw(Uint8Array.from([255, 0, 128, 7, 0, 255, 64, 9]), 2, 1, 4, mean, std);
  assert.deepEqual([...rgba], [...out]);
  assert.throws(() => hwcToNormalizedChw(new Uint8Array(5), 2, 1, 3, mean, std), /pixel buffer holds 5 bytes, expected 2x1x3/);
});

test('centre crop is the central square', () => {
  assert.deepEqual(centerCropBox(100, 60), { left: 20, top: 0, width: 60, height: 60 });
  assert.deepEqual(centerCropBox(31, 41), { left: 0, top: 5, width: 31, height: 31 });
});

test('random resized crops stay inside the image with area in the scale range', () => {
  const rng = createRng(42);
  for (let i = 0; i < 500; i++) {
    const box = randomResizedCropBox(32, 32, [0.5, 1], [3 / 4, 4 / 3], rng);
    assert.ok(box.left >= 0 && box.top >= 0 && box.left + box.width <= 32 && box.top + box.height <= 32);
    const area = (box.width * box.height) / (32 * 32);
    assert.ok(area > 0.4 && area <= 1, `area fraction ${area}`);
  }
});

test('augmentation is a function of the seed; evaluation has none', () => {
  const train = trainPreprocess(64);
  assert.deepEqual(chooseAugmentation(train, 128, 96, 5), chooseAugmentation(train, 128, 96, 5));
  const flips = Array.from({ length: 200 }, (_, s) => chooseAugmentation(train, 32, 32, s).flip).filter(Boolean).length;
  assert.ok(flips > 60 && flips < 140, `${flips} flips of 200`);
  assert.deepEqual(chooseAugmentation(evalPreprocess(64), 128, 96, 5), { box: { left: 16, top: 0, width: 96, height: 96 }, flip: false });
});

test('specs fill defaults, stay JSON-serialisable and reject bad values with the value received', () => {
  const spec = trainPreprocess(64);
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
  assert.deepEqual(spec.mean, CLIP_MEAN);
  assert.deepEqual(spec.std, CLIP_STD);
  assert.deepEqual(spec.scale, [0.5, 1]);
  assert.throws(() => resolvePreprocess({ size: 0 }), /expected an integer size between 1 and 4096 but received 0/);
  assert.throws(() => trainPreprocess(64, { scale: [0.8, 0.2] }), /expected scale \[lo, hi\] with 0 < lo <= hi <= 1 but received \[0.8,0.2\]/);
  assert.throws(() => evalPreprocess(64, { std: [1, 0, 1] }), /std of 3 positive numbers/);
});
