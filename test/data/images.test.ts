import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../src/data/images.js';
import { CLIP_MEAN, CLIP_STD, evalPreprocess, trainPreprocess } from '../../src/data/preprocess.js';
import { corruptJpeg, jpeg } from './fixtures.js';

const plain = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };

test('evaluation: a 64x48 JPEG becomes [3, 32, 32] of its central square', async () => {
  // Left half red, right half black: the central square keeps both halves.
  const image = await jpeg(64, 48, [255, 0, 0], true);
  const out = await decodeImage(image, evalPreprocess(32, plain), 0);
  assert.equal(out.length, 3 * 32 * 32);
  const red = (x: number, y: number) => out[y * 32 + x];
  assert.ok(red(2, 16) > 0.9 && red(29, 16) < 0.1, `left ${red(2, 16)} right ${red(29, 16)}`);
  assert.ok(out.every((v) => v >= 0 && v <= 1));
});

test('training: shapes, deterministic per seed, flips show up, CLIP normalisation range', async () => {
  const image = await jpeg(32, 32, [255, 0, 0], true);
  const spec = trainPreprocess(64, plain);
  const a = await decodeImage(image, spec, 11);
  const b = await decodeImage(image, spec, 11);
  assert.equal(a.length, 3 * 64 * 64);
  assert.deepEqual(a, b);
  let flipped = 0;
  for (let seed = 0; seed < 20; seed++) {
    const out = await decodeImage(image, spec, seed);
    if (out[32 * 64 + 1] < out[32 * 64 + 62]) flipped++;
  }
  assert.ok(flipped > 2 && flipped < 18, `${flipped} of 20 flipped`);
  const normalised = await decodeImage(image, trainPreprocess(64), 3);
  const lo = Math.min(...CLIP_MEAN.map((m, c) => -m / CLIP_STD[c]));
  const hi = Math.max(...CLIP_MEAN.map((m, c) => (1 - m) / CLIP_STD[c]));
  assert.ok(normalised.every((v) => v >= lo - 1e-5 && v <= hi + 1e-5));
});

test('PNG with alpha and greyscale decode to 3 channels', async () => {
  const rgba = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 255, b: 0, alpha: 0.5 } } }).png().toBuffer();
  const grey = await sharp(Buffer.alloc(100, 200), { raw: { width: 10, height: 10, channels: 1 } }).png().toBuffer();
  const a = await decodeImage(rgba, evalPreprocess(8, plain), 0);
  assert.ok(a[0] < 0.05 && a[64] > 0.95 && a[128] < 0.05);
  const g = await decodeImage(grey, evalPreprocess(8, plain), 0);
  assert.ok(Math.abs(g[0] - 200 / 255) < 0.02 && Math.abs(g[64] - g[0]) < 1e-6 && Math.abs(g[128] - g[0]) < 1e-6);
});

test('corrupt and non-image bytes are rejected with an error, not a crash', async () => {
  await assert.rejects(decodeImage(await corruptJpeg(), evalPreprocess(8), 0));
  await assert.rejects(decodeImage(Buffer.from('not an image'), evalPreprocess(8), 0));
});

test('a large photo (shrunk while decoding for training) gives the same shapes and value ranges', async () => {
  const big = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).jpeg().toBuffer();
  assert.ok(big.length > 32 * 1024, `${big.length} bytes`);
  for (const spec of [trainPreprocess(32, plain), evalPreprocess(32, plain)]) {
    const out = await decodeImage(big, spec, 1);
    assert.equal(out.length, 3 * 32 * 32);
    assert.ok(out.every((v) => v >= 0 && v <= 1));
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  }
});
