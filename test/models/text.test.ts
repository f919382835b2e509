import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualSeed, tensor, tidy, withTracer } from '../../src/engine/index.js';
import { TextEncoder, initTokenEmbeddingFromPrior, resolveConfig } from '../../src/models/index.js';
import { maxAbsDiff } from './helpers.js';

const config = resolveConfig('test-tiny');
const ids = (rows: number[][]) => tensor(rows, undefined, { dtype: 'int64' });

test('ids [B, T] -> [B, E], pooled at the first end token and causal', () => {
  manualSeed(0);
  const encoder = new TextEncoder(config.text, config.embedDim);
  tidy(() => {
    const end = config.text.endTokenId;
    const a = encoder.forward(ids([[5, 6, end, 0, 0], [7, end, 0, 0, 0]]));
    assert.deepEqual(a.shape, [2, config.embedDim]);
    // Tokens after the end token cannot matter: the mask is causal and pooling is at the end.
    const b = encoder.forward(ids([[5, 6, end, 9, 3], [7, end, 4, 4, 4]]));
    assert.ok(maxAbsDiff(a, b) < 1e-6);
    // Changing a token before it does.
    const c = encoder.forward(ids([[5, 8, end, 0, 0], [7, end, 0, 0, 0]]));
    assert.ok(maxAbsDiff(a.narrow(0, 0, 1), c.narrow(0, 0, 1)) > 1e-5);
    // Explicit end positions give the same result as finding the end token.
    const explicit = encoder.forward(ids([[5, 6, end, 0, 0], [7, end, 0, 0, 0]]), tensor([2, 1], undefined, { dtype: 'int64' }));
    assert.equal(maxAbsDiff(a, explicit), 0);
    // Padding after the batch's last end token is trimmed; while tracing it is not: same result.
    const untrimmed = withTracer({ record: () => {} }, () => encoder.forward(ids([[5, 6, end, 0, 0], [7, end, 0, 0, 0]])));
    assert.ok(maxAbsDiff(a, untrimmed) < 1e-6);
    // A token id above the end token's does not move the pooling position (CLIP's argmax rule would).
    const high = encoder.forward(ids([[5, 6, end, 0, 0], [7, end, config.text.vocabSize - 1, 0, 0]]));
    assert.ok(maxAbsDiff(a, high) < 1e-6);
  });
  encoder.dispose();
});

test('too-long or wrongly typed input is a clear error', () => {
  manualSeed(0);
  const encoder = new TextEncoder(config.text, config.embedDim);
  tidy(() => {
    const long = ids([Array.from({ length: config.text.contextLength + 1 }, () => 1)]);
    assert.throws(() => encoder.forward(long), /cannot encode sequences of length 9: the context is 8/);
    assert.throws(() => encoder.forward(tensor([[1, 2]])), /expects int64 token ids, got float32/);
  });
  encoder.dispose();
});

test('word prior initialises the found rows at the default scale and keeps the others', () => {
  manualSeed(0);
  const encoder = new TextEncoder(config.text, config.embedDim);
  const vocab = config.text.vocabSize;
  const before = encoder.tokenEmbedding.weight.toArray();
  const dim = 100;
  const vectors = new Float32Array(vocab * dim).map((_, i) => Math.sin(i * 0.37) * 3);
  const found = new Uint8Array(vocab).map((_, i) => (i % 2 === 0 ? 1 : 0));
  assert.equal(initTokenEmbeddingFromPrior(encoder, { vectors, found, dim }), vocab / 2);
  const after = encoder.tokenEmbedding.weight.toArray();
  const width = config.text.width;
  const foundValues: number[] = [];
  for (let row = 0; row < vocab; row++) {
    const slice = after.slice(row * width, (row + 1) * width);
    if (row % 2 === 1) assert.deepEqual(slice, before.slice(row * width, (row + 1) * width));
    else foundValues.push(...slice);
  }
  const mean = foundValues.reduce((a, b) => a + b, 0) / foundValues.length;
  const std = Math.sqrt(foundValues.reduce((a, b) => a + (b - mean) ** 2, 0) / foundValues.length);
  assert.ok(Math.abs(std - 0.02) < 1e-3, `std ${std}`);
  assert.throws(() => initTokenEmbeddingFromPrior(encoder, { vectors, found: new Uint8Array(3), dim }), /covers 3 tokens but the vocabulary has 64/);
  encoder.dispose();
});
