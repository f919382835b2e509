// The few-shot report's target lines: each shortfall is judged by the
// reports' one noise rule, on differences paired by draw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetLines } from '../../experiments/fewshot/report.js';
import type { DatasetResult, FitRecord, RunPlan } from '../../experiments/fewshot/dataset-run.js';

const plan: RunPlan = { shots: [4], draws: 3, testLimit: 1000, folds: 3 };

function result(slr: number[], probe: number[], zeroShot: number): DatasetResult {
  const fit = (variant: string, accuracy: number, draw: number): FitRecord =>
    ({ variant, shots: 4, draw, accuracy, nonZeros: 1, features: 1, lambda: 1, cvFolds: 3, seconds: 0 });
  return {
    dataset: 'cifar10', classes: 10, descriptionSource: 'test', descriptions: 10, testImages: 1000, zeroShot, example: [], seconds: 0,
    fits: [...slr.map((a, d) => fit('slr-avd', a, d)), ...probe.map((a, d) => fit('linear-probe', a, d))],
  };
}

test('a shortfall that every draw repeats is beyond noise', () => {
  // SLR-AVD 2 points below the probe in each draw: differences −0.02, −0.021, −0.019, standard error 0.06 points.
  const [line] = targetLines(result([0.20, 0.25, 0.22], [0.22, 0.271, 0.239], 0.1), plan, 'slr-avd');
  assert.match(line!, /\*\*missed\*\* in 1 of 2 comparisons, 1 of them beyond noise \(4-shot: 22\.33% vs linear probe 24\.33%, −2\.00 points, beyond noise\)/);
});

test('a shortfall on the means that the draws disagree on is within noise', () => {
  // Differences −0.06, +0.05, −0.02: mean −1.00 points, twice the standard error 6.4 points.
  const [line] = targetLines(result([0.20, 0.30, 0.22], [0.26, 0.25, 0.24], 0.1), plan, 'slr-avd');
  assert.match(line!, /\*\*missed\*\* in 1 of 2 comparisons, every shortfall within noise \(4-shot: .* −1\.00 points, within noise\)/);
});

test('no shortfall is a met target', () => {
  assert.deepEqual(targetLines(result([0.3, 0.3, 0.3], [0.2, 0.2, 0.2], 0.1), plan, 'slr-avd'), ['- SLR-AVD (encoder from class prompts): **met** at every shot count.']);
});
