// One score per weight, the lower pruned first. magnitude: |W_ij|. wanda:
// |W_ij| * ||X_j||_2, the weight times the L2 norm of the input feature it
// multiplies over the calibration data (Sun, Liu, Bair, Kolter: "A Simple
// and Effective Pruning Approach for Large Language Models").

export type PruneMethod = 'wanda' | 'magnitude';
export const PRUNE_METHODS: readonly PruneMethod[] = ['wanda', 'magnitude'];

export function checkMethod(method: string): PruneMethod {
  if (!(PRUNE_METHODS as readonly string[]).includes(method)) {
    throw new Error(`unknown pruning method "${method}": expected ${PRUNE_METHODS.join(' or ')}`);
  }
  return method as PruneMethod;
}

/**
 * weight [rows, cols] row-major (a convolution's [O, C/groups * kh * kw]);
 * inputSquares: per-column sums of squares over all C input channels,
 * [C * kh * kw], for wanda. With groups, row o reads the columns of its
 * group's input channels.
 */
export function pruneScores(method: PruneMethod, weight: Float32Array, rows: number, cols: number,
  inputSquares: Float64Array | null, groups = 1): Float32Array {
  const scores = new Float32Array(rows * cols);
  if (method === 'magnitude') {
    for (let i = 0; i < scores.length; i++) scores[i] = Math.abs(weight[i]!);
    return scores;
  }
  if (inputSquares === null || inputSquares.length !== groups * cols) {
    throw new Error(`wanda needs ${groups * cols} input-feature norms for this layer, got ${inputSquares?.length ?? 'none'}`);
  }
  const rowsPerGroup = rows / groups;
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / rowsPerGroup) * cols;
    for (let c = 0; c < cols; c++) scores[r * cols + c] = Math.abs(weight[r * cols + c]!) * Math.sqrt(inputSquares[base + c]!);
  }
  return scores;
}
