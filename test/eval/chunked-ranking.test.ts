import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, randn, tensor, tidy } from '../../src/engine/index.js';
import { inChunks } from '../../src/eval/classification.js';

test('inChunks ranks a batch in memory-bounded chunks exactly as one forward does', () => {
  manualSeed(3);
  const [n, c, h, w, classes] = [23, 3, 4, 4, 7];
  const weights = randn([c * h * w, classes]);
  const pixels = new Float32Array(randn([n, c, h, w]).toArray() as number[]);
  const topk = (images: ReturnType<typeof tensor>, k: number) => images.reshape([images.size(0), c * h * w]).matmul(weights).topk(k, 1)[1];
  const whole = noGrad(() => tidy(() => topk(tensor(pixels, [n, c, h, w]), 5).toArray())) as number[];
  const calls: number[] = [];
  const counted = (images: ReturnType<typeof tensor>, k: number) => { calls.push(images.size(0)); return topk(images, k); };
  const chunked = Array.from(inChunks(counted, 5 * h * w)(pixels, [n, c, h, w], 5) as ArrayLike<number>);
  assert.deepEqual(calls, [5, 5, 5, 5, 3], 'chunks of at most 5 images');
  assert.deepEqual(chunked, whole);
});
