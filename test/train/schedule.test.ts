import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmupCosine } from '../../src/train/schedule.js';

test('warm-up rises linearly to the peak, cosine falls to the floor', () => {
  const c = { lr: 1, warmupSteps: 4, totalSteps: 14, minLrRatio: 0.1 };
  assert.deepEqual([0, 1, 2, 3].map((s) => warmupCosine(s, c)), [0.25, 0.5, 0.75, 1]);
  assert.equal(warmupCosine(4, c), 1);
  assert.ok(Math.abs(warmupCosine(9, c) - 0.55) < 1e-12, 'half way: the mean of peak and floor');
  assert.ok(Math.abs(warmupCosine(14, c) - 0.1) < 1e-12);
  assert.ok(Math.abs(warmupCosine(100, c) - 0.1) < 1e-12, 'stays at the floor past the end');
});
