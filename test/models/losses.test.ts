import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { clipLoss, sameGroupMask, siglipLoss } from '../../src/models/index.js';

const images = [[1, 0], [0, 1]];
const texts = [[1, 0], [0.6, 0.8]];
const logSigmoid = (v: number) => -Math.log1p(Math.exp(-v));

test('SigLIP loss matches a hand computation', () => {
  // t = 10, b = -10: logits [[0, -4], [-10, -2]]; z = +1 on the diagonal.
  // -(log s(0) + log s(4) + log s(10) + log s(-2)) / 2 = 1.419135...
  const expected = -(logSigmoid(0) + logSigmoid(4) + logSigmoid(10) + logSigmoid(-2)) / 2;
  assert.ok(Math.abs(expected - 1.419135) < 1e-5);
  tidy(() => {
    const loss = siglipLoss(tensor(images), tensor(texts), tensor(Math.log(10)), tensor(-10));
    assert.ok(Math.abs(loss.item() - expected) < 1e-5, `got ${loss.item()}, expected ${expected}`);
    // Only the diagonal pairs (groups of one): -(log s(0) + log s(-2)) / 2.
    const masked = siglipLoss(tensor(images), tensor(texts), tensor(Math.log(10)), tensor(-10), sameGroupMask(2, 1));
    assert.ok(Math.abs(masked.item() + (logSigmoid(0) + logSigmoid(-2)) / 2) < 1e-5);
  });
});

test('CLIP loss matches a hand computation', () => {
  const t = 5;
  const sims = [[1, 0.6], [0, 0.8]];
  const ce = (row: number[], target: number) => Math.log(row.reduce((s, v) => s + Math.exp(t * v), 0)) - t * row[target]!;
  const imageToText = (ce(sims[0]!, 0) + ce(sims[1]!, 1)) / 2;
  const textToImage = (ce([sims[0]![0]!, sims[1]![0]!], 0) + ce([sims[0]![1]!, sims[1]![1]!], 1)) / 2;
  tidy(() => {
    const loss = clipLoss(tensor(images), tensor(texts), tensor(Math.log(t)));
    assert.ok(Math.abs(loss.item() - (imageToText + textToImage) / 2) < 1e-5);
  });
});

test('group mask and shape errors', () => {
  tidy(() => {
    assert.deepEqual(sameGroupMask(4, 2).toArray(), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    assert.throws(() => siglipLoss(tensor([[1, 0]]), tensor(texts), tensor(0), tensor(0)), /paired embeddings \[N, E\], got images \[1,2\] and texts \[2,2\]/);
  });
});
