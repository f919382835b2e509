// docs/compression.md is built from the run's record alone: its settings come
// from the recorded configs and host (not from text typed into the page), and
// each target is judged by the reports' one noise rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCompressionReport, reportWithoutRecord, type CompressedRun, type CompressionRecord, type CompressionSettings } from '../../experiments/compression/report.js';
import { resolveCompressConfig, type CompressMethod } from '../../src/compress/adasap-recipe.js';
import { CORRUPTION_NAMES } from '../../src/eval/corruptions/corruptions.js';

const settings: CompressionSettings = { methods: ['adasap', 'prune-finetune', 'sam'], seeds: [0, 1], ratios: [0.5], stepsWarmup: 24, stepsFinetune: 24, batchSize: 64, limit: 500, severities: [1, 3, 5], latencyRounds: [200, 30] };
const timingMs = (median: number, spread = 0.02) => ({ median: median / 1000, q1: (median - spread) / 1000, q3: (median + spread) / 1000, n: 200 });
const evalOf = (clean: number, corrupted: number) => ({ samples: 500, clean, meanCorrupted: corrupted, perCorruption: CORRUPTION_NAMES.map((corruption) => ({ corruption, top1: corrupted })) });

function run(method: CompressMethod, seed: number, corrupted: number, batch1Ms: number): CompressedRun {
  // Hyperparameters unlike the code's defaults: the page must show these, read from the record.
  const config = resolveCompressConfig({ method, flopsRatio: 0.5, seed, warmupSteps: 24, finetuneSteps: 24, rhoMax: 0.3, rhoMin: 0.02, lr: 7e-4, rho: 0.08 });
  return {
    method, ratio: 0.5, seed, config, eval: evalOf(0.2, corrupted), deploy: { kb: 1100, batch1: timingMs(batch1Ms), batch64: timingMs(8, 0.1) },
    denseDeploy: { kb: 1895, batch1: timingMs(0.6), batch64: timingMs(13, 0.1) },
    summary: { method, flopsRatio: 0.5, denseMacs: 4.3e6, macs: 2.15e6, denseParams: 472e3, params: 273e3, widths: { a: 8, head: 336 }, warmupLoss: 4.1, finetuneLoss: 4.8, seconds: 90, recipe: 'tiny-hyperclip-d' },
  };
}

/** Corrupted top-1 per seed (seeds 0, 1, ...) of AdaSAP and of both baselines. */
function record(adasap: number[], baseline: number[]): CompressionRecord {
  const seeds = adasap.map((_, seed) => seed);
  return {
    command: 'npm run experiment:compression -- --model models/default', finished: '2026-12-01T00:00:00Z', model: 'models/default', modelKey: 'abc123def456',
    settings: { ...settings, seeds }, host: { cpus: 16, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20', loadAverage: [0.5] }, loadAverageAtEnd: [0.7], folder: 'abc123def456-w24-f24-b64-n500-sev135-t4',
    dense: { macs: 4.3e6, params: 472e3, eval: evalOf(0.22, 0.18), deploy: { kb: 1895, batch1: timingMs(0.6), batch64: timingMs(13, 0.1) } },
    runs: (['adasap', 'prune-finetune', 'sam'] as const).flatMap((method) => seeds.map((seed) => run(method, seed, (method === 'adasap' ? adasap : baseline)[seed]!, 0.48))),
  };
}

test('the setting is read from the recorded configs and host, not typed into the page', () => {
  const md = buildCompressionReport(record([0.16, 0.17], [0.15, 0.16]));
  assert.match(md, /radius per channel runs from 0\.3 .* down to 0\.02/);
  assert.match(md, /plain SAM \(rho 0\.08\)/);
  assert.match(md, /peak lr 0\.0007/);
  assert.match(md, /Host \(recorded\): 16 × Test CPU, linux x64, Node v20, load average 0\.5 at the start and 0\.7 at the end/);
  assert.doesNotMatch(md, /2-core/);
});

test('the accuracy target needs AdaSAP 1 point above prune-finetune, and says whether by more than the paired noise', () => {
  // +2 points in each of 3 seeds: paired differences with no spread, 1 point over the margin.
  assert.match(buildCompressionReport(record([0.17, 0.18, 0.17], [0.15, 0.16, 0.15])), /Accuracy at FLOPs 0\.5, .*difference \+2\.00 points .*\*\*met, beyond noise\*\*/);
  // +0.5 in every seed: ahead of prune-finetune, but short of the 1-point margin in every seed.
  assert.match(buildCompressionReport(record([0.155, 0.165, 0.155], [0.15, 0.16, 0.15])), /\*\*missed by 0\.50 points, beyond noise\*\*/);
  // +4, -1 and +1 points: over the margin on the means, within noise.
  assert.match(buildCompressionReport(record([0.19, 0.15, 0.16], [0.15, 0.16, 0.15])), /\*\*met on the means, within noise\*\*/);
  // +3, -2 and +1 points: a mean of +0.67 misses the margin, within noise.
  assert.match(buildCompressionReport(record([0.18, 0.14, 0.16], [0.15, 0.16, 0.15])), /difference \+0\.67 points \(paired standard error 1\.45 over 3 seeds\): \*\*missed by 0\.33 points, within noise\*\*/);
});

test('every baseline is compared with AdaSAP as a difference from zero, beside the target', () => {
  const md = buildCompressionReport(record([0.155, 0.165, 0.155], [0.15, 0.16, 0.15]));
  assert.match(md, /## AdaSAP against each baseline\n\n- FLOPs 0\.5, .*\+0\.50 points vs prune-finetune \(.*beyond noise\); \+0\.50 points vs sam/);
});

test('two seeds that happen to agree are not trusted as a spread: the verdict falls back to the test-set sampling error', () => {
  // +2 points in both seeds: with 500 images the difference's standard error is about 2.3 points.
  assert.match(buildCompressionReport(record([0.17, 0.18], [0.15, 0.16])), /standard error 2\.3\d from the test set's sampling, with fewer than 3 seed pairs\): \*\*met on the means, within noise\*\*/);
});

test('the speed target says whether it is met and whether by more than the timing noise', () => {
  // 13 ms -> 8 ms at batch 64 is 1.62x: over 1.6x by 0.125 ms against a standard error of about 0.01 ms.
  assert.match(buildCompressionReport(record([0.16, 0.17], [0.15, 0.16])), /batch 1: 1\.25x, \*\*missed, beyond noise\*\*; batch 64: 1\.63x, \*\*met, beyond noise\*\*/);
});

test('without a record the page says so and shows no figures', () => {
  const configs = { adasap: resolveCompressConfig({ method: 'adasap', flopsRatio: 0.5 }) };
  const md = reportWithoutRecord('models/default', settings, configs);
  assert.match(md, /\*\*No committed run record yet\*\*/);
  assert.match(md, /the command's settings: no run recorded/);
  assert.doesNotMatch(md, /\| 0\.5 \| adasap/);
});
