// The compression experiment's per-model results carry finished work across
// sessions: the page is assembled from whatever is stored, says which planned
// runs are missing, and pairs each speed-up with the dense timing of its own rounds.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildCompressionReport, type CompressionSettings } from '../../experiments/compression/report.js';
import { assembleRecord, currentRun, DENSE_FILE, parseRunFile, readStored, runFile, storedRuns, widenedByStored, writeStored, type StoredDense, type StoredRun } from '../../experiments/compression/store.js';
import { resolveCompressConfig, sameResultSettings, type CompressMethod } from '../../src/compress/adasap-recipe.js';
import { CORRUPTION_NAMES } from '../../src/eval/corruptions/corruptions.js';

const settings: CompressionSettings = { methods: ['adasap', 'prune-finetune'], seeds: [0, 1, 2], ratios: [0.5], stepsWarmup: 240, stepsFinetune: 240, batchSize: 64, limit: 500, severities: [1, 2, 3, 4, 5], latencyRounds: [200, 30] };
const hostOf = (load: number) => ({ cpus: 2, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20', loadAverage: [load] });
const timingMs = (median: number) => ({ median: median / 1000, q1: (median - 0.01) / 1000, q3: (median + 0.01) / 1000, n: 30 });
const evalOf = (top1: number) => ({ samples: 500, clean: top1, meanCorrupted: top1 - 0.1, perCorruption: CORRUPTION_NAMES.map((corruption) => ({ corruption, top1: top1 - 0.1 })) });

function storedRun(method: CompressMethod, seed: number, prunedMs: number, denseMs: number): StoredRun {
  return {
    method, ratio: 0.5, seed, config: resolveCompressConfig({ method, flopsRatio: 0.5, seed }), eval: evalOf(0.3),
    summary: { method, flopsRatio: 0.5, denseMacs: 300e6, macs: 150e6, denseParams: 2e6, params: 1.2e6, widths: { head: 640 }, warmupLoss: 5, finetuneLoss: 6, seconds: 1400, recipe: 'w4' },
    deploy: { kb: 5000, batch1: timingMs(prunedMs), batch64: timingMs(prunedMs * 64) },
    denseDeploy: { kb: 9000, batch1: timingMs(denseMs), batch64: timingMs(denseMs * 64) },
    host: hostOf(1), loadAverageAtEnd: [1.5], finished: `2026-12-07T0${seed}:00:00Z`, command: 'npm run experiment:compression -- --methods adasap,prune-finetune',
  };
}

const expected = (method: CompressMethod, ratio: number, seed: number) => resolveCompressConfig({ method, flopsRatio: ratio, seed });

function storeWith(runs: StoredRun[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compression-store-'));
  const dense: StoredDense = { macs: 300e6, params: 2e6, eval: evalOf(0.4), host: hostOf(0.5), finished: '2026-12-07T00:00:00Z' };
  writeStored(dir, DENSE_FILE, dense);
  for (const r of runs) writeStored(dir, runFile(r.method, r.ratio, r.seed), r);
  return dir;
}

test('without the dense result there is no record; with it, the stored runs of the settings in their order', () => {
  assert.equal(assembleRecord(mkdtempSync(path.join(os.tmpdir(), 'compression-empty-')), settings, 'models/default', 'abc', expected), null);
  const dir = storeWith([storedRun('prune-finetune', 0, 10, 20), storedRun('adasap', 1, 10, 20), storedRun('sam', 0, 10, 20)]);
  // sam is stored but not among the settings' methods: left out.
  assert.deepEqual(storedRuns(dir, settings, expected).map((r) => `${r.method}-${r.seed}`), ['adasap-1', 'prune-finetune-0']);
  const record = assembleRecord(dir, settings, 'models/default', 'abc', expected)!;
  assert.equal(record.runs.length, 2);
  assert.equal(record.finished, '2026-12-07T01:00:00Z');
  assert.equal(record.folder, path.basename(dir));
  assert.ok(!('host' in record.runs[0]!), 'per-run bookkeeping stays out of the record');
});

test('a partial store gives a page that names every planned run still missing', () => {
  const dir = storeWith([storedRun('adasap', 0, 10, 20), storedRun('prune-finetune', 0, 10, 20)]);
  const md = buildCompressionReport(assembleRecord(dir, settings, 'models/default', 'abc', expected)!);
  assert.match(md, /\*\*Partial\.\*\* 2 of the 6 planned runs are measured; not yet: adasap 0\.5 seed 1, adasap 0\.5 seed 2, prune-finetune 0\.5 seed 1, prune-finetune 0\.5 seed 2\./);
  assert.match(md, /--methods adasap,prune-finetune --seeds 0,1,2 --ratios 0\.5/);
});

test('each speed-up is the ratio of one run\'s own two medians, not of timings from different rounds', () => {
  // The machine was twice as loaded during the second run: both of its medians doubled, its speed-up did not change.
  const dir = storeWith([storedRun('adasap', 0, 10, 20), storedRun('prune-finetune', 0, 20, 40), storedRun('adasap', 1, 10, 20)]);
  const md = buildCompressionReport(assembleRecord(dir, settings, 'models/default', 'abc', expected)!);
  assert.match(md, /\| 0\.5 \| prune-finetune \| 1 \|.*\| 2\.00x \/ 2\.00x \|/);
  assert.match(md, /batch 1: 2\.00x, \*\*met, beyond noise\*\*/);
});

test('a run of one method and seed rewrites the page with every current stored result, not only its own', () => {
  const dir = storeWith([storedRun('adasap', 1, 10, 20), storedRun('prune-finetune', 2, 10, 20), storedRun('sam', 0, 10, 20)]);
  writeFileSync(path.join(dir, 'notes.json'), '{}');
  writeFileSync(path.join(dir, runFile('unknown-method', 0.5, 4)), '{}');
  const samOnly: CompressionSettings = { ...settings, methods: ['sam'], seeds: [0], ratios: [0.7] };
  const page = widenedByStored(dir, samOnly, expected);
  assert.deepEqual([page.methods, page.seeds, page.ratios], [['adasap', 'prune-finetune', 'sam'], [0, 1, 2], [0.7, 0.5]]);
  const md = buildCompressionReport(assembleRecord(dir, page, 'models/default', 'abc', expected)!);
  assert.match(md, /\*\*Partial\.\*\* 3 of the 18 planned runs are measured/);
  assert.match(md, /\| 0\.5 \| adasap \| 1 \|/);
  // Runs stored under another default widen nothing: with SAM's rho changed, the adasap and sam runs are not current (both read it), prune-finetune's is.
  const otherRho = (method: CompressMethod, ratio: number, seed: number) => resolveCompressConfig({ method, flopsRatio: ratio, seed, rho: 0.2 });
  const stale = widenedByStored(dir, samOnly, otherRho);
  assert.deepEqual([stale.methods, stale.seeds, stale.ratios], [['prune-finetune', 'sam'], [0, 2], [0.7, 0.5]]);
  assert.deepEqual(parseRunFile('prune-finetune-f0.7-s12.json'), { method: 'prune-finetune', ratio: 0.7, seed: 12 });
  assert.equal(parseRunFile(DENSE_FILE), null);
});

test('a damaged stored result is named with what to do, not read as missing', () => {
  const dir = storeWith([]);
  writeFileSync(path.join(dir, runFile('adasap', 0.5, 0)), '{"method": "ada');
  assert.throws(() => readStored(dir, runFile('adasap', 0.5, 0)), /adasap-f0\.5-s0\.json is not readable JSON .*restore it with git checkout, or delete it/);
});

test('a stored run made under another default is not current: it is measured again and left out of the page; a method that never reads the changed setting keeps its run', () => {
  const dir = storeWith([storedRun('adasap', 0, 10, 20), storedRun('prune-finetune', 0, 10, 20)]);
  const smallerRadius = (method: CompressMethod, ratio: number, seed: number) => resolveCompressConfig({ method, flopsRatio: ratio, seed, asamRho: 0.1 });
  assert.equal(currentRun(dir, 'adasap', 0.5, 0, smallerRadius), null);
  assert.notEqual(currentRun(dir, 'prune-finetune', 0.5, 0, smallerRadius), null);
  const md = buildCompressionReport(assembleRecord(dir, settings, 'models/default', 'abc', smallerRadius)!);
  assert.match(md, /1 of the 6 planned runs are measured; not yet: adasap 0\.5 seed 0,/);
});

test('configs compare by what their method reads', () => {
  const adasap = resolveCompressConfig({ method: 'adasap', flopsRatio: 0.5 });
  assert.ok(sameResultSettings(adasap, resolveCompressConfig({ method: 'adasap', flopsRatio: 0.5 })));
  assert.ok(!sameResultSettings(adasap, { ...adasap, asamRho: adasap.asamRho / 5 }));
  assert.ok(!sameResultSettings(adasap, { ...adasap, finetuneSteps: 24 }));
  const sam = resolveCompressConfig({ method: 'sam', flopsRatio: 0.5 });
  assert.ok(sameResultSettings(sam, { ...sam, asamRho: 7 }));
  assert.ok(!sameResultSettings(sam, { ...sam, rho: 0.5 }));
  // Key order does not matter.
  const reordered = Object.fromEntries(Object.entries(adasap).reverse()) as typeof adasap;
  assert.ok(sameResultSettings(adasap, reordered));
});

test('AdaSAP with no baseline result yet is not judged', () => {
  const dir = storeWith([storedRun('adasap', 0, 10, 20)]);
  const md = buildCompressionReport(assembleRecord(dir, settings, 'models/default', 'abc', expected)!);
  assert.match(md, /- Accuracy at FLOPs 0\.5, .*: AdaSAP 20\.00%; \*\*not established\*\*: no prune-finetune result yet\./);
  assert.match(md, /- FLOPs 0\.5: no prune-finetune result yet to compare AdaSAP with\./);
  assert.doesNotMatch(md, /Accuracy at FLOPs 0\.5.*\*\*met/);
});
