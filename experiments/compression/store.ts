// The compression experiment's committed results: one file per finished
// compressed model (and one for the dense model) under
// runs/compression/records/<model hash>-<budgets>/, written the moment that
// model is evaluated and timed. The experiment takes about 20 CPU-hours and a
// working session far less; checkpoints and compressed weights are not
// committed, so these files are what carries finished work from one session
// to the next, and the page is assembled from them alone.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../src/engine/atomic-write.js';
import type { Host } from '../../tools/host.js';
import { COMPRESS_METHODS, sameResultSettings, type CompressConfig, type CompressMethod } from '../../src/compress/adasap-recipe.js';
import type { CompressedRun, CompressionRecord, CompressionSettings, DeploymentRecord, EvalRecord } from './report.js';
import { pooledTiming } from './report.js';

/** The dense model's evaluation (timings live with each compressed run: the dense classifier is timed beside each). */
export interface StoredDense { macs: number; params: number; eval: EvalRecord; host: Host; finished: string }

/** One finished compressed model: what the record lists, plus where and when it was measured. */
export interface StoredRun extends CompressedRun { host: Host; loadAverageAtEnd: number[]; finished: string; command: string }

export const DENSE_FILE = 'dense.json';
export const runFile = (method: string, ratio: number, seed: number): string => `${method}-f${ratio}-s${seed}.json`;

export function writeStored(dir: string, name: string, value: StoredDense | StoredRun): void {
  writeJsonAtomic(path.join(dir, name), value, 1);
}

export function readStored<T>(dir: string, name: string): T | null {
  const file = path.join(dir, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file} is not readable JSON (${(err as Error).message}): restore it with git checkout, or delete it to measure that model again`);
  }
}

/** The config a run of these settings resolves to: a stored run made under another (an earlier default) is not current. */
export type ExpectedConfig = (method: CompressMethod, ratio: number, seed: number) => CompressConfig;

/** The stored run of one method, ratio and seed, if there is one made under the expected config. */
export function currentRun(dir: string, method: CompressMethod, ratio: number, seed: number, expected: ExpectedConfig): StoredRun | null {
  const run = readStored<StoredRun>(dir, runFile(method, ratio, seed));
  return run !== null && sameResultSettings(run.config, expected(method, ratio, seed)) ? run : null;
}

/** Every current stored run of these settings' seeds, ratios and methods, in the settings' order. */
export function storedRuns(dir: string, s: CompressionSettings, expected: ExpectedConfig): StoredRun[] {
  const out: StoredRun[] = [];
  for (const ratio of s.ratios) {
    for (const method of COMPRESS_METHODS.filter((m) => s.methods.includes(m))) {
      for (const seed of s.seeds) {
        const run = currentRun(dir, method, ratio, seed, expected);
        if (run !== null) out.push(run);
      }
    }
  }
  return out;
}

/** The method, ratio and seed a stored run's file name gives, or null for any other file. */
export function parseRunFile(name: string): { method: CompressMethod; ratio: number; seed: number } | null {
  const match = /^(.+)-f(0\.\d+)-s(\d+)\.json$/.exec(name);
  if (match === null || !(COMPRESS_METHODS as readonly string[]).includes(match[1]!)) return null;
  return { method: match[1] as CompressMethod, ratio: Number(match[2]), seed: Number(match[3]) };
}

/**
 * These settings widened by every method, ratio and seed that has a current
 * stored result: the page covers the whole store, so a run of one method or
 * seed rewrites it without dropping what the others measured.
 */
export function widenedByStored(dir: string, s: CompressionSettings, expected: ExpectedConfig): CompressionSettings {
  const found = existsSync(dir) ? readdirSync(dir).map(parseRunFile)
    .filter((r): r is NonNullable<typeof r> => r !== null && currentRun(dir, r.method, r.ratio, r.seed, expected) !== null) : [];
  const methods = COMPRESS_METHODS.filter((m) => s.methods.includes(m) || found.some((r) => r.method === m));
  const seeds = [...new Set([...s.seeds, ...found.map((r) => r.seed)])].sort((a, b) => a - b);
  const ratios = [...new Set([...s.ratios, ...found.map((r) => r.ratio)])].sort((a, b) => b - a);
  return { ...s, methods, seeds, ratios };
}

/** The record of whatever is stored (null without the dense model's result): the page says how many of the planned runs it holds. */
export function assembleRecord(dir: string, s: CompressionSettings, model: string, modelKey: string, expected: ExpectedConfig): CompressionRecord | null {
  const dense = readStored<StoredDense>(dir, DENSE_FILE);
  if (dense === null) return null;
  const stored = storedRuns(dir, s, expected);
  const runs: CompressedRun[] = stored.map(({ host: _h, loadAverageAtEnd: _l, finished: _f, command: _c, ...run }) => run);
  const denseDeploy: DeploymentRecord | null = runs.length === 0 ? null : {
    kb: runs[0]!.denseDeploy.kb,
    batch1: pooledTiming(runs.map((r) => r.denseDeploy.batch1)),
    batch64: pooledTiming(runs.map((r) => r.denseDeploy.batch64)),
  };
  const last = stored.reduce<StoredRun | null>((a, r) => (a === null || r.finished > a.finished ? r : a), null);
  return {
    command: last?.command ?? 'npm run experiment:compression', finished: last?.finished ?? dense.finished, model, modelKey, settings: s,
    host: dense.host, loadAverageAtEnd: last?.loadAverageAtEnd ?? dense.host.loadAverage, folder: path.basename(dir),
    dense: { macs: dense.macs, params: dense.params, eval: dense.eval, deploy: denseDeploy },
    runs,
  };
}
