// Image embeddings for few-shot learning are computed a few images per
// forward pass: a pass keeps all its activations until it returns (about
// 40 MB per image at 160 px), and the experiment's batches of 256 took 11 GB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBundle } from '../../src/bundle/bundle.js';
import { createRng } from '../../src/data/random.js';
import { liveTensorCount, type Tensor } from '../../src/engine/index.js';
import { embedPixels } from '../../src/fewshot/embed.js';

test('embedPixels runs at most 16 images per forward pass and gives the embeddings of one image at a time', () => {
  const bundle = loadBundle();
  try {
    const size = bundle.preprocess.size, per = 3 * size * size, dim = bundle.config.embedDim;
    const count = 20;
    const rng = createRng(3);
    const pixels = Float32Array.from({ length: count * per }, () => 2 * rng() - 1);
    const batches: number[] = [];
    const encode = bundle.model.encodeImage.bind(bundle.model);
    bundle.model.encodeImage = (images, normParams) => {
      batches.push((images as Tensor).size(0));
      return encode(images, normParams);
    };
    const tensorsBefore = liveTensorCount();
    const all = embedPixels(bundle, pixels, count, null);
    assert.equal(liveTensorCount(), tensorsBefore, 'embedding leaves no tensor behind');
    assert.deepEqual(batches, [16, 4]);
    assert.equal(all.length, count * dim);
    for (const i of [0, 15, 16, 19]) {
      const one = embedPixels(bundle, pixels.subarray(i * per, (i + 1) * per), 1, null);
      const worst = one.reduce((m, v, e) => Math.max(m, Math.abs(v - all[i * dim + e]!)), 0);
      assert.ok(worst < 1e-5, `image ${i}: embedded alone it differs by ${worst}`);
    }
  } finally {
    bundle.model.dispose();
  }
});
