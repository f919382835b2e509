import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLIP_MEAN, CLIP_STD, centerCropBox, chooseAugmentation, cropResizeNormalize, evalPreprocess, hwcToNormalizedChw,
  randomResizedCropBox, resolvePreprocess, trainPreprocess, type RawImage,
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

const unit = { mean: [0, 0, 0] as [number, number, number], std: [1 / 255, 1 / 255, 1 / 255] as [number, number, number] };

function image(width: number, height: number, channels: number, value: (x: number, y: number, c: number) => number): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = value(x, y, c);
  return { data, width, height, channels };
}

const full = (w: number, h: number) => ({ left: 0, top: 0, width: w, height: h });

test('crop-resize at scale 1 is exactly the plain HWC -> CHW conversion, for every kernel', () => {
  const img = image(5, 5, 3, (x, y, c) => (x * 40 + y * 7 + c * 90) % 256);
  const plain = hwcToNormalizedChw(img.data, 5, 5, 3, CLIP_MEAN, CLIP_STD);
  for (const kernel of ['box', 'linear', 'cubic'] as const) {
    const out = cropResizeNormalize(img, { box: full(5, 5), flip: false }, evalPreprocess(5, { kernel }));
    out.forEach((v, i) => assert.ok(Math.abs(v - plain[i]) < 1e-5, `${kernel} value ${i}: ${v} vs ${plain[i]}`));
  }
});

test('crop-resize: box downscaling averages blocks, crops pick the region, flip mirrors', () => {
  const img = image(4, 4, 1, (x, y) => (x < 2 ? 0 : 200) + (y < 2 ? 0 : 40));
  const half = cropResizeNormalize(img, { box: full(4, 4), flip: false }, evalPreprocess(2, { ...unit, kernel: 'box' }));
  assert.deepEqual([...half.subarray(0, 4)].map(Math.round), [0, 200, 40, 240]);
  assert.deepEqual([...half.subarray(4, 8)].map(Math.round), [0, 200, 40, 240], 'grey repeats into every channel');
  const corner = cropResizeNormalize(img, { box: { left: 2, top: 2, width: 2, height: 2 }, flip: false }, evalPreprocess(1, { ...unit, kernel: 'linear' }));
  assert.equal(Math.round(corner[0]), 240);
  const mirrored = cropResizeNormalize(img, { box: full(4, 4), flip: true }, evalPreprocess(2, { ...unit, kernel: 'box' }));
  assert.deepEqual([...mirrored.subarray(0, 4)].map(Math.round), [200, 0, 240, 40]);
});

test('crop-resize: upscaling a flat image stays flat, cubic overshoot is clamped, bad boxes are refused', () => {
  const flat = cropResizeNormalize(image(3, 3, 3, () => 77), { box: full(3, 3), flip: false }, evalPreprocess(8, { ...unit, kernel: 'cubic' }));
  assert.ok(flat.every((v) => Math.abs(v - 77) < 1e-3));
  const edge = image(8, 1, 3, (x) => (x < 4 ? 0 : 255));
  const up = cropResizeNormalize(edge, { box: full(8, 1), flip: false }, evalPreprocess(16, { ...unit, kernel: 'cubic' }));
  assert.ok(up.every((v) => v >= 0 && v <= 255));
  assert.throws(() => cropResizeNormalize(edge, { box: { left: 4, top: 0, width: 8, height: 1 }, flip: false }, evalPreprocess(4)),
    /crop box \{"left":4,"top":0,"width":8,"height":1\} is outside the 8x1 image/);
});
