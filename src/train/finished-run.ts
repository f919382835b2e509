// A run folder whose training already ended: its metrics log holds the
// summary record, written only after the final checkpoint and the model
// folder. Resuming such a run has nothing left to do.
import path from 'node:path';
import { MetricsLog } from './metrics-log.js';

export interface FinishedRun {
  steps: number;
  finalLoss: number;
  imagesPerSecond: number;
  seconds: number;
  skipped: string;
  modelDir: string;
}

/** The first completed training in `outDir`, or null when the run has not finished. */
export function finishedRun(outDir: string): FinishedRun | null {
  const summary = new MetricsLog(path.join(outDir, 'metrics.jsonl')).read().find((r) => r.event === 'summary');
  if (summary === undefined) return null;
  const count = (value: unknown): number => (typeof value === 'number' ? value : NaN);
  return {
    steps: count(summary.steps), finalLoss: count(summary.finalLoss), imagesPerSecond: count(summary.imagesPerSecond),
    seconds: count(summary.seconds), skipped: String(summary.skipped ?? 'skipped 0'), modelDir: path.join(outDir, 'model'),
  };
}
