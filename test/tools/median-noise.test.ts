// The bootstrap interval of a median and the permutation test of two medians
// that bench:train and its --compare print: they separate runs that
// differ and do not separate runs that do not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/data/random.js';
import { bootstrapMedianInterval, median, medianPermutationP } from '../../tools/stats.js';
import { roundRatios } from '../../bench/lib/train-compare.js';

const noisy = (center: number, n: number, seed: number): number[] => {
  const uniform = createRng(seed);
  return Array.from({ length: n }, () => center + 0.2 * (uniform() - 0.5));
};

test('the bootstrap interval holds the median and narrows with more rounds', () => {
  const few = noisy(0.9, 8, 1), many = noisy(0.9, 200, 2);
  const [lo, hi] = bootstrapMedianInterval(few, createRng(3));
  assert.ok(lo <= median(few) && median(few) <= hi);
  const [lo2, hi2] = bootstrapMedianInterval(many, createRng(3));
  assert.ok(hi2 - lo2 < hi - lo, `${hi2 - lo2} is not narrower than ${hi - lo}`);
  assert.ok(lo2 > 0.85 && hi2 < 0.95);
});

test('the permutation test separates shifted runs and not two draws of the same', () => {
  assert.ok(medianPermutationP(noisy(0.97, 24, 4), noisy(0.88, 24, 5), createRng(0), 4000) < 0.01);
  assert.ok(medianPermutationP(noisy(0.9, 24, 6), noisy(0.9, 24, 7), createRng(0), 4000) > 0.05);
});

test('a record without per-round ratios is refused with what it is', () => {
  const record = { command: 'npm run bench:deploy', date: '2026-12-06', output: ['latency'] };
  assert.throws(() => roundRatios(record), /has no per-round ratios: it is not a bench:train run/);
  assert.deepEqual(roundRatios({ ...record, output: ['ratio over all timed steps: 0.9; per-round ratios: 0.8 1.0'] }), [0.8, 1.0]);
});
