import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { clipLoss, sameGroupMask, samePositives, siglipLoss } from '../../src/models/index.js';

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

/** Random unit rows, seeded. */
function unitRows(n: number, e: number, seed: number): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  return Array.from({ length: n }, () => {
    const row = Array.from({ length: e }, next);
    const norm = Math.hypot(...row);
    return row.map((v) => v / norm);
  });
}

const dot = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i]!, 0);

test('same-class positives: SigLIP and CLIP equal a brute-force loop over pairs', () => {
  const n = 6, t = 7, b = -3;
  const x = unitRows(n, 4, 1), y = unitRows(n, 4, 2);
  const labels = Int32Array.from([3, -1, 3, 0, -1, 0]), sources = Int32Array.from([0, 1, 0, 0, 1, 1]);
  // Brute force: i, j match if i == j or same label >= 0 from the same source (samples 3 and 5 differ in source).
  const match = (i: number, j: number) => i === j || (labels[i]! >= 0 && labels[i] === labels[j] && sources[i] === sources[j]);
  let siglip = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) siglip -= logSigmoid((match(i, j) ? 1 : -1) * (t * dot(x[i]!, y[j]!) + b));
  siglip /= n;
  let clip = 0;
  for (const [a, c] of [[x, y], [y, x]] as const) {
    for (let i = 0; i < n; i++) {
      const logits = c.map((row) => t * dot(a[i]!, row));
      const logZ = Math.log(logits.reduce((sum, v) => sum + Math.exp(v), 0));
      const matches = logits.map((_, j) => match(i, j));
      const count = matches.filter(Boolean).length;
      logits.forEach((v, j) => { if (matches[j]) clip -= (v - logZ) / count / n / 2; });
    }
  }
  tidy(() => {
    const positives = samePositives(labels, sources);
    assert.equal(positives.sum().item(), n + 2, 'the two label-3 samples of source 0 match each other');
    const ours = siglipLoss(tensor(x), tensor(y), tensor(Math.log(t)), tensor(b), null, positives).item();
    assert.ok(Math.abs(ours - siglip) < 1e-4, `SigLIP ${ours} vs brute force ${siglip}`);
    const oursClip = clipLoss(tensor(x), tensor(y), tensor(Math.log(t)), null, positives).item();
    assert.ok(Math.abs(oursClip - clip) < 1e-4, `CLIP ${oursClip} vs brute force ${clip}`);
  });
});

test('without labels the positives are the diagonal and the loss is exactly today\'s', () => {
  const n = 5;
  const x = unitRows(n, 3, 3), y = unitRows(n, 3, 4);
  tidy(() => {
    const none = samePositives(new Int32Array(n).fill(-1), new Int32Array(n));
    const plain = siglipLoss(tensor(x), tensor(y), tensor(2), tensor(-4)).item();
    assert.equal(siglipLoss(tensor(x), tensor(y), tensor(2), tensor(-4), null, none).item(), plain);
    assert.ok(Math.abs(clipLoss(tensor(x), tensor(y), tensor(2), null, none).item() - clipLoss(tensor(x), tensor(y), tensor(2)).item()) < 1e-6);
    assert.throws(() => clipLoss(tensor(x), tensor(y), tensor(2), sameGroupMask(n, 1), none), /pair mask or positives, not both/);
  });
});
