// Which weights to keep, given one score per weight: the lowest scores of
// each output row go (a ratio per row), or the lowest M - N of every M
// consecutive inputs (N:M). Plain arrays, so the rule is easy to check by
// hand and does not depend on how a runtime breaks ties: equal scores are
// ranked by column, the lower column pruned first.

export type Sparsity = { kind: 'ratio'; ratio: number } | { kind: 'nm'; n: number; m: number };

/** "0.5" -> a ratio; "2:4" -> N:M. One readable line for anything else. */
export function parseSparsity(text: string): Sparsity {
  const nm = /^(\d+):(\d+)$/.exec(text.trim());
  if (nm) return checkSparsity({ kind: 'nm', n: Number(nm[1]), m: Number(nm[2]) });
  const ratio = Number(text);
  if (text.trim() === '' || !Number.isFinite(ratio)) throw new Error(`expected a sparsity ratio in [0, 1) or N:M (e.g. 2:4), received "${text}"`);
  return checkSparsity({ kind: 'ratio', ratio });
}

export function checkSparsity(s: Sparsity): Sparsity {
  if (s.kind === 'ratio') {
    if (!(s.ratio >= 0 && s.ratio < 1)) throw new Error(`sparsity must be in [0, 1) (the fraction of each row's weights set to zero), received ${s.ratio}`);
  } else {
    if (!Number.isInteger(s.n) || !Number.isInteger(s.m) || s.n < 1 || s.m < 2) throw new Error(`N:M needs whole numbers N >= 1 and M >= 2, received ${s.n}:${s.m}`);
    if (s.n >= s.m) throw new Error(`N:M keeps N of every M weights, so N must be below M (e.g. 2:4), received ${s.n}:${s.m}`);
  }
  return s;
}

export const describeSparsity = (s: Sparsity): string => (s.kind === 'ratio' ? String(s.ratio) : `${s.n}:${s.m}`);

/** Columns of one row ordered by ascending score, ties by column. */
function ascending(scores: Float32Array, offset: number, columns: number[]): number[] {
  return columns.slice().sort((a, b) => scores[offset + a]! - scores[offset + b]! || a - b);
}

/**
 * scores [rows, cols] row-major -> keep mask (1 kept, 0 pruned): in every
 * row the floor(ratio * cols) lowest-scored weights are pruned.
 */
export function rowRatioMask(scores: Float32Array, rows: number, cols: number, ratio: number): Uint8Array {
  checkShape(scores, rows, cols);
  const mask = new Uint8Array(rows * cols).fill(1);
  const prune = Math.floor(ratio * cols);
  if (prune === 0) return mask;
  const all = Array.from({ length: cols }, (_, c) => c);
  for (let r = 0; r < rows; r++) {
    const order = ascending(scores, r * cols, all);
    for (let i = 0; i < prune; i++) mask[r * cols + order[i]!] = 0;
  }
  return mask;
}

/**
 * N:M along the input dimension: cols = inputs * spatial, column
 * (i * spatial + s). For every spatial position s (one for a linear layer,
 * kh * kw for a convolution) the inputs form groups of M consecutive
 * channels, and each group keeps its N highest-scored weights. inputs must
 * be divisible by M.
 */
export function nmMask(scores: Float32Array, rows: number, cols: number, n: number, m: number, spatial = 1): Uint8Array {
  checkShape(scores, rows, cols);
  const inputs = cols / spatial;
  if (!Number.isInteger(inputs) || inputs % m !== 0) throw new Error(`N:M with M = ${m} needs the input count divisible by ${m}, got ${inputs}`);
  const mask = new Uint8Array(rows * cols).fill(1);
  for (let r = 0; r < rows; r++) {
    for (let group = 0; group < inputs; group += m) {
      for (let s = 0; s < spatial; s++) {
        const columns = Array.from({ length: m }, (_, j) => (group + j) * spatial + s);
        const order = ascending(scores, r * cols, columns);
        for (let i = 0; i < m - n; i++) mask[r * cols + order[i]!] = 0;
      }
    }
  }
  return mask;
}

function checkShape(scores: Float32Array, rows: number, cols: number): void {
  if (scores.length !== rows * cols) throw new Error(`scores hold ${scores.length} values, not ${rows} x ${cols}`);
}
