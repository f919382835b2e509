// Rebuilds the report and its plots from whatever the output folder holds.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../src/engine/atomic-write.js';
import type { Configuration } from './plan.js';
import { writePlots } from './plots.js';
import { buildReport } from './report.js';
import { readRuns, type RunState } from './runs.js';

export const INVOCATION_FILE = 'experiment.json';
/** Written by experiments/overlap.ts; embedded in the report next to the scores. */
const OVERLAP_FILE = path.join('docs', 'overlap.md');

export interface ReportTarget {
  outDir: string;
  /** The report's file; its plots go into plots/ beside it. */
  reportFile: string;
  configurations: Configuration[];
  seeds: number[];
}

export function recordInvocation(outDir: string, command: string): void {
  mkdirSync(outDir, { recursive: true });
  writeJsonAtomic(path.join(outDir, INVOCATION_FILE), { command, at: new Date().toISOString() });
}

function lastInvocation(outDir: string): string | null {
  const file = path.join(outDir, INVOCATION_FILE);
  if (!existsSync(file)) return null;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { command?: string }).command ?? null;
  } catch {
    return null;
  }
}

export async function writeReport(target: ReportTarget): Promise<{ runs: RunState[]; plots: string[] }> {
  const runs = readRuns(target.outDir, target.configurations, target.seeds);
  const reportDir = path.dirname(target.reportFile);
  const plots = await writePlots(runs, target.configurations, path.join(reportDir, 'plots'), reportDir);
  const markdown = buildReport({
    runs, configurations: target.configurations, seeds: target.seeds, outDir: target.outDir, plots,
    lastCommand: lastInvocation(target.outDir), overlap: existsSync(OVERLAP_FILE) ? readFileSync(OVERLAP_FILE, 'utf8') : null, generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(target.reportFile, markdown);
  return { runs, plots: plots.map((p) => path.join(reportDir, p.file)) };
}
