// The statistics of one table cell: one metric, one configuration, both
// models over their seeds, and the seed-paired difference between them.
import type { ModelKind } from './plan.js';
import { metricValues, type RunState } from './runs.js';
import { pairedDifference, spread, type PairedDifference, type Spread } from '../../tools/stats.js';

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

