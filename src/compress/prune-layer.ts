// One layer's mask from its weight and (for wanda) its input statistics;
// shared by the module pruner and the ONNX classifier pruner.
import { nmMask, rowRatioMask, type Sparsity } from './mask.js';
import { pruneScores, type PruneMethod } from './prune-score.js';

export interface LayerWeight {
  /** [rows, cols] row-major: a convolution's [O, C/groups * kh * kw]. */
  data: Float32Array;
  rows: number;
  cols: number;
  /** kh * kw for a convolution, 1 for a linear layer. */
  spatial: number;
  groups: number;
}

export interface LayerResult {
  name: string;
  shape: number[];
  /** Weights set to zero by this pruning, and all weights. */
  pruned: number;
  total: number;
  /** Why the layer stayed dense, when it did. */
  skipped?: string;
}

/** The keep mask (1 kept), or the reason the layer stays dense. */
export function layerMask(method: PruneMethod, sparsity: Sparsity, w: LayerWeight, inputSquares: Float64Array | null): Uint8Array | string {
  const inputs = w.cols / w.spatial;
  if (sparsity.kind === 'nm' && inputs % sparsity.m !== 0) return `N:M needs the ${inputs} inputs per output to be divisible by ${sparsity.m}`;
  const scores = pruneScores(method, w.data, w.rows, w.cols, inputSquares, w.groups);
  return sparsity.kind === 'ratio'
    ? rowRatioMask(scores, w.rows, w.cols, sparsity.ratio)
    : nmMask(scores, w.rows, w.cols, sparsity.n, sparsity.m, w.spatial);
}

export const countZeros = (mask: Uint8Array): number => mask.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
