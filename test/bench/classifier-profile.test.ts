// bench:classifier-profile: onnxruntime trace events summed by MobileNet
// layer kind, the table it writes, and one short real profile of the
// shipped model's classifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyKernel, summarizeTrace } from '../../bench/lib/ort-trace.js';
import { parseFolders, parseRuns, profileLines, type ProfileRecord } from '../../bench/classifier-profile.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'bench/classifier-profile.js');
const MODEL = path.join(ROOT, '../models/default');

const conv = (x: number[], w: number[], y: number[], ts = 0, dur = 1000) => ({
  cat: 'Node', name: 'c_kernel_time', ts, dur, args: { op_name: 'Conv', input_type_shape: [{ float: x }, { float: w }, { float: [w[0]!] }], output_type_shape: [{ float: y }] },
});

test('kernels are told apart by their weight shapes, with their multiply-adds', () => {
  assert.deepEqual(classifyKernel(conv([1, 3, 8, 8], [16, 3, 3, 3], [1, 16, 4, 4])), { kind: 'stem conv', macs: 16 * 16 * 27 });
  assert.deepEqual(classifyKernel(conv([1, 16, 4, 4], [16, 1, 3, 3], [1, 16, 4, 4])), { kind: 'depthwise conv', macs: 16 * 16 * 9 });
  assert.deepEqual(classifyKernel(conv([2, 16, 4, 4], [96, 16, 1, 1], [2, 96, 4, 4])), { kind: 'pointwise conv, widening', macs: 2 * 96 * 16 * 16 });
  assert.deepEqual(classifyKernel(conv([2, 96, 4, 4], [24, 96, 1, 1], [2, 24, 4, 4])), { kind: 'pointwise conv, narrowing', macs: 2 * 24 * 16 * 96 });
  const gemm = { cat: 'Node', name: 'g_kernel_time', args: { op_name: 'Gemm', input_type_shape: [{ float: [4, 1280] }], output_type_shape: [{ float: [4, 256] }] } };
  assert.deepEqual(classifyKernel(gemm), { kind: 'matmul', macs: 4 * 256 * 1280 });
  assert.equal(classifyKernel({ args: { op_name: 'Softmax' } }).kind, 'other');
  assert.throws(() => classifyKernel({ name: 'x_kernel_time', args: { op_name: 'Conv', input_type_shape: [{ float: [1, 3, 8, 8] }] } }), /without an input and a 4-d weight shape/);
});

test('a trace is summed per run and by kind, the warm-up runs dropped and the median kept', () => {
  const run = (ts: number, dur: number) => ({ cat: 'Session', name: 'model_run', ts, dur });
  const dw = (ts: number, dur: number) => conv([1, 16, 4, 4], [16, 1, 3, 3], [1, 16, 4, 4], ts, dur);
  const events = [
    run(0, 100), dw(10, 90_000), // warm-up: slow, dropped
    run(200, 50), dw(210, 2000), dw(220, 1000),
    run(300, 60), dw(310, 4000), dw(320, 1000),
    run(400, 70), dw(410, 3000), dw(420, 1000),
    { cat: 'Node', name: 'stray_kernel_time', ts: 1000, dur: 5, args: { op_name: 'Add' } }, // outside every run
    { cat: 'Node', name: 'c_fence_before', ts: 210, dur: 7, args: { op_name: 'Conv' } }, // not a kernel call
  ];
  const summary = summarizeTrace(events, 1);
  assert.equal(summary.runs, 3);
  assert.equal(summary.runMs, 0.06);
  assert.deepEqual(summary.kinds['depthwise conv'], { ms: 4, macs: 2 * 16 * 16 * 9, calls: 2 });
  assert.deepEqual(summary.kinds.other, { ms: 0, macs: 0, calls: 0 });
  assert.throws(() => summarizeTrace(events, 4), /holds 4 runs, none after the 4 warm-up runs/);
});

test('bad options are one line that says what to give', () => {
  assert.deepEqual(parseRuns('100, 20'), [100, 20]);
  for (const bad of ['100', '0,5', '1.5,2', 'a,b']) assert.throws(() => parseRuns(bad), /--runs takes two positive counts/);
  assert.throws(() => parseFolders(undefined), /give --compressed/);
  const empty = mkdtempSync(path.join(tmpdir(), 'not-a-model-'));
  assert.throws(() => parseFolders(`${MODEL},${empty}`), /is not a model folder \(no config\.json\)/);
  const run = spawnSync(process.execPath, [SCRIPT, '--compressed', empty], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr.trim(), /^bench:classifier-profile: .*is not a model folder/);
});

test('the page compares each kind with dense: speed-up and multiply-adds ratio', () => {
  const summary = (scale: number) => ({
    runs: 5, runMs: 10 * scale,
    kinds: {
      'stem conv': { ms: 1, macs: 100, calls: 1 }, 'depthwise conv': { ms: 2 * scale, macs: 200 * scale, calls: 17 },
      'pointwise conv, widening': { ms: 4 * scale, macs: 400 * scale, calls: 17 }, 'pointwise conv, narrowing': { ms: 2 * scale, macs: 300 * scale, calls: 17 },
      matmul: { ms: 0.5, macs: 50, calls: 2 }, other: { ms: 0.5, macs: 0, calls: 9 },
    },
  });
  const record: ProfileRecord = {
    date: '2026-12-07T12:00:00.000Z', command: 'x', host: { cpus: 2, cpuModel: 'AMD EPYC', platform: 'linux x64', node: 'v20', loadAverage: [0] }, classes: 10, inputSize: 160,
    runs: [100, 20], warmup: [10, 2],
    models: [
      { name: 'default', dir: 'models/default', kb: 1, batch1: summary(1), batch64: summary(1), unprofiledMs: { batch1: 9, batch64: 300 }, aloneMs: { batch1: 6, batch64: 300 } },
      { name: 'half', dir: 'runs/half', kb: 1, batch1: summary(0.5), batch64: summary(0.5), unprofiledMs: { batch1: 4, batch64: 200 }, aloneMs: { batch1: 3, batch64: 150 } },
    ],
  };
  const text = profileLines(record).join('\n');
  assert.match(text, /\| depthwise conv \| 2\.00 \| 20% \| 1\.00 \| 2\.00× \| 2\.00× \|/);
  assert.match(text, /\| stem conv \| 1\.00 \| 10% \| 1\.00 \| 1\.00× \| 1\.00× \|/);
  assert.match(text, /\| other \| 0\.50 \| 5% \| 0\.50 \| 1\.00× \| – \|/);
  assert.match(text, /\| all kernels \| 10\.0 \| 100% \| 6\.00 \| 1\.67× \| 1\.75× \|/);
  assert.match(text, /\| whole run, profiler off \(wall clock\) \| 9\.00 \| \| 4\.00 \| 2\.25× \|/);
  assert.match(text, /\| whole run, profiler off \(wall clock\) \| 300 \| \| 200 \| 1\.50× \|/);
  assert.match(text, /\| whole run, its session alone \(wall clock\) \| 6\.00 \| \| 3\.00 \| 2\.00× \|/);
  assert.match(text, /\| whole run, its session alone \(wall clock\) \| 300 \| \| 150 \| 2\.00× \|/);
  // Records from before the alone timing have no such row.
  const older = { ...record, models: record.models.map(({ aloneMs: _, ...m }) => m) };
  assert.doesNotMatch(profileLines(older).join('\n'), /its session alone/);
  assert.equal(text.match(/### Batch (1|64)\n/g)?.length, 2);
});

test('a short real profile of the shipped classifier finds every MobileNet layer kind', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--quick', '--model', MODEL, '--compressed', MODEL], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  assert.equal(run.status, 0, run.stderr);
  for (const kind of ['stem conv', 'depthwise conv', 'pointwise conv, widening', 'pointwise conv, narrowing', 'matmul']) {
    // The same model on both sides: every kind has kernel time and the same multiply-adds.
    assert.match(run.stdout, new RegExp(`\\| ${kind} \\| [0-9.]+ \\| [0-9]+% \\| [0-9.]+ \\| [0-9.]+× \\| 1\\.00× \\|`), kind);
  }
  assert.doesNotMatch(run.stdout, /\| (stem|depthwise|pointwise)[^|]*\| 0\.00 \|/);
  assert.match(run.stdout, /\| whole run, profiler off \(wall clock\) \| [0-9.]+ \| \| [0-9.]+ \| [0-9.]+× \|/);
  assert.match(run.stdout, /\| whole run, its session alone \(wall clock\) \| [0-9.]+ \| \| [0-9.]+ \| [0-9.]+× \|/);
  assert.match(run.stdout, /--quick run, nothing recorded\n$/);
});
