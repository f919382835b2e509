// Solving G X = B for a symmetric positive definite G (a regularised Gram
// matrix of a few hundred rows), in double precision: Cholesky G = L L^T,
// then a forward and a back substitution per right-hand side.

/**
 * X with (G + shift I) X = B. g: n x n row-major; b: n x m row-major;
 * returns n x m. A shift > 0 makes a singular Gram (a channel that is
 * always zero) solvable.
 */
export function solveSpd(g: Float64Array, n: number, b: Float64Array, m: number, shift = 0): Float64Array {
  if (g.length !== n * n || b.length !== n * m) throw new Error(`solveSpd: expected a ${n}x${n} matrix and ${n}x${m} right-hand sides`);
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = g[j * n + j]! + shift;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) throw new Error(`solveSpd: the matrix is not positive definite at row ${j} (pivot ${d}); raise the shift`);
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = g[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) { // L y = b
      let s = x[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * x[k * m + c]!;
      x[i * m + c] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) { // L^T x = y
      let s = x[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k * m + c]!;
      x[i * m + c] = s / l[i * n + i]!;
    }
  }
  return x;
}
