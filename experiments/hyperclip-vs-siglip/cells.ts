// The statistics of one table cell: one metric, one configuration, both
// models over their seeds, and the seed-paired difference between them.
import type { ModelKind } from './plan.js';
import { metricValues, type RunState } from './runs.js';
import { median, pairedDifference, spread, type PairedDifference, type Spread } from '../../tools/stats.js';
import { percent } from '../../src/eval/format.js';

export interface CellStats {
  byModel: Record<ModelKind, Spread>;
  difference: PairedDifference;
}

/** Per-seed values of one metric for one model in one configuration (evaluated runs only). */
export function seedValues(runs: RunState[], configuration: string, model: ModelKind, metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of runs) {
    if (r.configuration === configuration && r.model === model && r.eval) out.set(r.seed, metricValues(r.eval)[metric]!);
  }
  return out;
}

export function cellStats(runs: RunState[], configuration: string, metric: string): CellStats {
  const h = seedValues(runs, configuration, 'hyperclip', metric);
  const s = seedValues(runs, configuration, 'siglip', metric);
  return {
    byModel: { hyperclip: spread([...h.values()]), siglip: spread([...s.values()]) },
    difference: pairedDifference(h, s),
  };
}


/** A paired difference as the report's tables print it: "+1.23 ± 0.45 (3)", or "no pairs". */
export const pairedText = (d: PairedDifference): string =>
  d.n === 0 ? 'no pairs' : `${percent(d.mean, { sign: true })} ± ${Number.isFinite(d.std) ? percent(d.std) : 'n/a'} (${d.n})`;

/** The finished runs of one model in one configuration (a run in progress has no settled rate or time). */
export const trainedRuns = (runs: RunState[], configuration: string, model: ModelKind): RunState[] =>
  runs.filter((r) => r.configuration === configuration && r.model === model && r.status !== 'missing' && r.status !== 'started');

/** The median img/s of those runs; NaN when there are none. */
export const medianRate = (runs: RunState[], configuration: string, model: ModelKind): number => median(trainedRuns(runs, configuration, model).map((r) => r.imagesPerSecond));
