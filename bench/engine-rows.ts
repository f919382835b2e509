// The rows of `npm run bench:engine` and their selection by --only. A row is
// one model, one batch and one kind of step, timed on the engine and on
// PyTorch; `dispatch` is the small-op overhead line.
import type { TrainingBench } from './engine-runs.js';
import type { MobileNetRowSpec } from './engine-mobilenet.js';

export interface BenchRow {
  name: string;
  unit: string;
  batch: number;
  /** Timed steps per round as a multiple of --steps: batch-1 inference steps are short, so a round takes more of them. */
  stepsScale: number;
  /** The reference CNN and the transformer (batch 128), or an ImageNet MobileNet v2 row. */
  model: { kind: 'small'; bench: TrainingBench } | { kind: 'mnv2'; spec: MobileNetRowSpec };
}

export const DISPATCH = 'dispatch';

/** Batch per (mode, size): 224 px has 3x the pixels of 128 px, so its training batch is halved to keep a step's memory to a few GB. */
const MOBILENET_BATCHES: Array<{ mode: 'train' | 'infer'; batches: Record<number, number> }> = [
  { mode: 'train', batches: { 128: 32, 224: 16 } },
  { mode: 'infer', batches: { 128: 64, 224: 64 } },
  { mode: 'infer', batches: { 128: 1, 224: 1 } },
];

function mobilenetRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const size of [128, 224]) {
    for (const { mode, batches } of MOBILENET_BATCHES) {
      for (const layout of ['contiguous', 'channels_last'] as const) {
        const batch = batches[size]!;
        const name = `mnv2_${size}_${mode === 'train' ? 'train' : `infer_b${batch}`}_${layout}`;
        rows.push({ name, unit: 'img/s', batch, stepsScale: batch === 1 ? 10 : 1, model: { kind: 'mnv2', spec: { mode, size, batch, layout } } });
      }
    }
  }
  return rows;
}

export function allRows(smallBatch: number): BenchRow[] {
  const small = (bench: TrainingBench, unit: string): BenchRow => ({ name: bench, unit, batch: smallBatch, stepsScale: 1, model: { kind: 'small', bench } });
  return [small('cnn_contiguous', 'img/s'), small('cnn_channels_last', 'img/s'), small('transformer', 'seq/s'), ...mobilenetRows()];
}

/**
 * --only: comma-separated row names or name prefixes ending at an underscore
 * ("mnv2", "mnv2_224", "mnv2_128_train", "cnn"), and "dispatch". Unset: every row.
 */
export function selectRows(rows: BenchRow[], only: string | undefined): { rows: BenchRow[]; dispatch: boolean } {
  if (only === undefined) return { rows, dispatch: true };
  const entries = only.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const matches = (entry: string, name: string): boolean => name === entry || name.startsWith(`${entry}_`);
  for (const entry of entries) {
    if (entry !== DISPATCH && !rows.some((r) => matches(entry, r.name))) {
      throw new Error(`--only ${entry} names no row; rows: ${rows.map((r) => r.name).join(', ')}, ${DISPATCH} (or a prefix such as mnv2, mnv2_224, cnn)`);
    }
  }
  return { rows: rows.filter((r) => entries.some((e) => matches(e, r.name))), dispatch: entries.includes(DISPATCH) };
}
