// Shared checks for the deploy tests: run ONNX bytes in onnxruntime-node,
// compare with engine outputs, and validate files with the ONNX checker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Tensor } from '../../src/engine/index.js';
import { openRunner } from '../../src/deploy/runtime/node.js';
import type { FeedTensor, ResultTensor } from '../../src/deploy/runtime/session.js';
import { dependencyPresent } from '../ci/system-dependency.js';

export const PYTHON = '/usr/bin/python3';

export const CHECKER_SKIP = `${PYTHON} lacks the onnx module (apt install python3-onnx) - ONNX checker not run`;

/** Whether Debian's python3-onnx is there to run the ONNX checker; under CI=true its absence throws (the test fails, not skips). */
export function onnxCheckerAvailable(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  return dependencyPresent(probe.status === 0, CHECKER_SKIP);
}

/** Runs onnx.checker.check_model(full_check=True) on the bytes; returns its error text, or null when it passes. */
export function onnxCheckerError(bytes: Uint8Array): string | null {
  return onnxCheckerErrors({ model: bytes }).model ?? null;
}

/** The checker over several models in one Python process: the error text of each failing model by name. */
export function onnxCheckerErrors(models: Record<string, Uint8Array>): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-onnx-'));
  try {
    const names = Object.keys(models);
    names.forEach((name, i) => writeFileSync(path.join(dir, `${i}.onnx`), models[name]!));
    const script = [
      'import sys, json, onnx',
      'errors = {}',
      'for i, f in enumerate(sys.argv[1:]):',
      '    try: onnx.checker.check_model(onnx.load(f), full_check=True)',
      '    except Exception as e: errors[i] = " ".join(str(e).split())[:600]',
      'print(json.dumps(errors))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, ...names.map((_, i) => path.join(dir, `${i}.onnx`))], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`ONNX checker did not run: ${run.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    const byIndex = JSON.parse(run.stdout) as Record<string, string>;
    return Object.fromEntries(Object.entries(byIndex).map(([i, message]) => [names[Number(i)]!, message]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tensor's data as a runtime feed. */
export function feedOf(t: Tensor): FeedTensor {
  const data = t.data();
  if (data instanceof Uint16Array || data instanceof Float64Array) throw new Error(`feedOf: ${t.dtype} feeds are not used in these tests`);
  return { data, dims: t.shape, ...(t.dtype === 'bool' ? { type: 'bool' as const } : {}) };
}

/** Runs ONNX bytes once in onnxruntime-node. */
export async function runOnnx(bytes: Uint8Array, feeds: Record<string, FeedTensor>): Promise<Record<string, ResultTensor>> {
  const runner = await openRunner(bytes);
  try {
    return await runner.run(feeds);
  } finally {
    await runner.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Row-wise argmax of a [rows, cols] array. */
export function argmaxRows(data: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c]! > data[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** Asserts that ONNX output and engine output agree to tol (max abs) with the same row argmax; returns the max abs diff. */
export function assertParity(onnxOut: ResultTensor, engineOut: Tensor, tol: number, what: string): number {
  assert.deepEqual(onnxOut.dims, engineOut.shape, `${what}: ONNX shape [${onnxOut.dims}] vs engine [${engineOut.shape}]`);
  const expected = engineOut.data() as Float32Array;
  const actual = onnxOut.data as Float32Array;
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff <= tol, `${what}: max abs diff ${diff} exceeds ${tol}`);
  const cols = engineOut.shape[engineOut.ndim - 1]!;
  assert.deepEqual(argmaxRows(actual, cols), argmaxRows(expected, cols), `${what}: argmax differs`);
  return diff;
}
