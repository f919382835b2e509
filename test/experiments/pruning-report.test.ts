// The pruning report judges latency differences by the reports' noise rule
// from what the records hold, instead of calling them noise whatever the data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyVerdict } from '../../experiments/pruning/report.js';
import type { ClassifierRecord } from '../../experiments/pruning/records.js';

const row = (method: ClassifierRecord['method'], level: string, latencyMs: number, quartiles?: [number, number]): ClassifierRecord => ({
  kind: 'classifier', modelCrc: 1, limit: 1000, method, level, bytes: 1000, overall: 0.5, top1: 0.2, latencyMs, imagesPerSecond: 4000,
  ...(quartiles ? { latencyQuartilesMs: quartiles, latencyRuns: 100 } : {}),
});

test('with quartiles recorded, a latency gap far beyond their spread is reported as beyond noise', () => {
  const text = latencyVerdict([row('dense', '0', 0.37, [0.36, 0.38]), row('wanda', '0.5', 0.371, [0.36, 0.38]), row('magnitude', '0.8', 0.26, [0.255, 0.265])]);
  assert.match(text, /1 of 2 pruned classifiers within noise; faster beyond noise: magnitude 0\.8/);
});

test('with medians only, the report says noise cannot be judged rather than calling it noise', () => {
  const text = latencyVerdict([row('dense', '0', 0.37), row('wanda', '0.5', 0.26)]);
  assert.match(text, /keep only each classifier's median, so whether those differences are beyond noise cannot be judged/);
  assert.doesNotMatch(text, /are measurement noise/);
});
