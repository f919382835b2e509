// Multinomial logistic regression with an L1 (sparse) or L2 penalty, fitted
// by FISTA (accelerated proximal gradient, with adaptive restart) along a
// decreasing path of penalties, each fit warm-started from the previous one.
//
//   minimise (1/n) sum_i CE(softmax(W x_i + b), y_i) + lambda * R(W)
//   R = ||W||_1 (L1) or ||W||^2 / 2 (L2); the bias b is not penalised.
//
// The matrix products run on the engine (libtorch, float64): the few-shot
// problems have up to a few thousand rows and a thousand features and
// classes, and the path with cross-validation takes hundreds of fits.
// SLR-AVD's features are similarities to descriptions, so a design matrix of
// F features has rank at most E + 1 (the embedding width and the centring):
// given that factorisation, every product goes through it (CIFAR-100: 808
// features of rank 129, a quarter of the arithmetic).
import { F, noGrad, releaseMemory, tensor, tidy, zeros, type Tensor } from '../engine/index.js';

export type Penalty = 'l1' | 'l2';

/** A design matrix with class labels: x row-major [rows, cols]. */
export interface LabelledData {
  x: Float64Array;
  rows: number;
  cols: number;
  labels: Int32Array;
  classes: number;
  /** Optional: x = left [rows, rank] x right [rank, cols] (up to rounding), used when the products are cheaper that way. */
  factors?: LowRank;
}

export interface LowRank { left: Float64Array; right: Float64Array; rank: number }

export interface LogisticModel {
  /** [classes, features] row-major. */
  weight: Float64Array;
  bias: Float64Array;
  classes: number;
  features: number;
  penalty: Penalty;
  lambda: number;
  iterations: number;
  converged: boolean;
}

export interface SolveOptions {
  penalty: Penalty;
  /** Stop when the largest entry of the gradient mapping (zero exactly at the optimum) is below this. */
  tolerance?: number;
  /** Or below this fraction of lambda, when that is larger (the path's large penalties need less precision). */
  relativeTolerance?: number;
  maxIterations?: number;
}

/**
 * Work done by the solver since the process started (or the last reset):
 * penalties solved, iterations, objective evaluations on the line search
 * beyond the first, and products with the design (X w^T or r^T X). For
 * benchmarks and tests; reading them costs nothing.
 */
export const solverCounters = { solves: 0, iterations: 0, backtracks: 0, products: 0 };
export function resetSolverCounters(): void {
  solverCounters.solves = 0;
  solverCounters.iterations = 0;
  solverCounters.backtracks = 0;
  solverCounters.products = 0;
}

const DEFAULT_TOLERANCE = 1e-5;
const DEFAULT_MAX_ITERATIONS = 3000;

// Every iteration frees and allocates the same few hundred kB to MB buffers,
// but the addon turns off glibc's trimming and mmap (native/src/addon.cc),
// and the freed blocks fragment instead of being reused: a CIFAR-100 fit
// (100 classes, 1,600 rows) grew resident memory by about 6 MB per
// iteration, to 7.8 GB, with 0.1 GB of it live. Handing freed memory back
// every so many iterations keeps it near the live size (0.3 GB there).
const RELEASE_EVERY = 100;
let sinceRelease = 0;

export function checkData(d: LabelledData): void {
  if (d.rows < 1 || d.cols < 1) throw new Error(`logistic regression needs at least one row and one feature, got [${d.rows}, ${d.cols}]`);
  if (d.x.length !== d.rows * d.cols) throw new Error(`design matrix has ${d.x.length} values, not ${d.rows} x ${d.cols}`);
  if (d.labels.length !== d.rows) throw new Error(`${d.labels.length} labels for ${d.rows} rows`);
  for (const y of d.labels) if (!Number.isInteger(y) || y < 0 || y >= d.classes) throw new Error(`label ${y} is outside 0..${d.classes - 1}`);
  const f = d.factors;
  if (f !== undefined && (!(f.rank >= 1) || f.left.length !== d.rows * f.rank || f.right.length !== f.rank * d.cols)) {
    throw new Error(`low-rank factors do not fit a [${d.rows}, ${d.cols}] design of rank ${f.rank}: left has ${f.left.length} values, right ${f.right.length}`);
  }
}

/**
 * The smallest L1 penalty at which every weight is zero: the largest entry of
 * the loss gradient at W = 0 with the bias at its optimum (log class frequencies).
 */
export function lambdaMax(d: LabelledData): number {
  checkData(d);
  // The gradient sum_i (p - y_i) x_i^T / n at p = the class frequencies is
  // (frequency_k * column sum_j - class k's sum of column j) / n: one pass over x.
  const counts = new Float64Array(d.classes);
  for (const y of d.labels) counts[y]!++;
  const columnSums = new Float64Array(d.cols);
  const classSums = new Float64Array(d.classes * d.cols);
  for (let i = 0; i < d.rows; i++) {
    const row = d.x.subarray(i * d.cols, (i + 1) * d.cols);
    const into = d.labels[i]! * d.cols;
    for (let j = 0; j < d.cols; j++) {
      columnSums[j]! += row[j]!;
      classSums[into + j]! += row[j]!;
    }
  }
  let top = 0;
  for (let k = 0; k < d.classes; k++) {
    const frequency = counts[k]! / d.rows;
    for (let j = 0; j < d.cols; j++) top = Math.max(top, Math.abs(frequency * columnSums[j]! - classSums[k * d.cols + j]!) / d.rows);
  }
  return top;
}

/** Fits one model per lambda, in the given order, each warm-started from the one before. */
export function fitPath(d: LabelledData, lambdas: readonly number[], options: SolveOptions): LogisticModel[] {
  checkData(d);
  if (lambdas.some((l) => !(l >= 0))) throw new Error(`penalties must be >= 0, got ${lambdas.join(', ')}`);
  return noGrad(() => {
    const problem = tidy(() => setUp(d));
    let start = zeros([d.classes, d.cols + 1], { dtype: 'float64' });
    // The first step: the inverse of the curvature at the path's start. W = 0
    // and b = 0 give every class probability 1/K, where the softmax
    // cross-entropy's Hessian in the logits has norm 1/K, not the 1/2 of the
    // global bound: with 100 classes that step is 50 times longer, and the
    // backtracking still shortens it where needed. (The steps the line search
    // accepts on CIFAR-100 run at 300-1,000 times 1/L: 1/L itself took about
    // 25 iterations of growth at 1.25x to leave behind on every path.)
    let step = 1 / (problem.lipschitz * Math.min(1, 2 / d.classes));
    const models: LogisticModel[] = [];
    try {
      for (const lambda of lambdas) {
        const { solution, iterations, converged, step: used } = solve(problem, start, lambda, options, step);
        step = used;
        start.dispose();
        start = solution;
        models.push(toModel(solution, d, options.penalty, lambda, iterations, converged));
      }
    } finally {
      start.dispose();
      for (const t of Object.values(problem)) if (t !== null && typeof t === 'object') t.dispose();
      releaseMemory();
    }
    return models;
  });
}

export function fit(d: LabelledData, lambda: number, options: SolveOptions): LogisticModel {
  return fitPath(d, [lambda], options)[0]!;
}

/** Logits [rows, classes] of a model on a design matrix [rows, features]. */
export function logits(model: LogisticModel, x: Float64Array, rows: number): Float64Array {
  const { classes: K, features: F_ } = model;
  if (x.length !== rows * F_) throw new Error(`expected ${rows} x ${F_} features, got ${x.length} values`);
  // Each class's non-zero weights, once: an L1 model has few (CIFAR-100: about
  // 1,500 of 80,800), and rows x classes x features would dominate a fit.
  const columns: Int32Array[] = [], weights: Float64Array[] = [];
  for (let k = 0; k < K; k++) {
    const row = model.weight.subarray(k * F_, (k + 1) * F_);
    const nz: number[] = [];
    for (let j = 0; j < F_; j++) if (row[j] !== 0) nz.push(j);
    columns.push(Int32Array.from(nz));
    weights.push(Float64Array.from(nz, (j) => row[j]!));
  }
  const out = new Float64Array(rows * K);
  for (let i = 0; i < rows; i++) {
    const offset = i * F_;
    for (let k = 0; k < K; k++) {
      const cols = columns[k]!, w = weights[k]!;
      let s = model.bias[k]!;
      for (let n = 0; n < cols.length; n++) s += w[n]! * x[offset + cols[n]!]!;
      out[i * K + k] = s;
    }
  }
  return out;
}

export function predict(model: LogisticModel, x: Float64Array, rows: number): Int32Array {
  return argmaxRows(logits(model, x, rows), model.classes);
}

/** The index of the largest score in each row of a row-major [rows, cols] matrix. */
export function argmaxRows(scores: Float64Array | Float32Array, cols: number): Int32Array {
  const rows = scores.length / cols;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let k = 1; k < cols; k++) if (scores[i * cols + k]! > scores[i * cols + best]!) best = k;
    out[i] = best;
  }
  return out;
}

/** Mean cross-entropy of a model on labelled data (natural log). */
export function logLoss(model: LogisticModel, x: Float64Array, labels: Int32Array): number {
  return meanCrossEntropy(logits(model, x, labels.length), labels, model.classes);
}

/** Mean cross-entropy (natural log) of logits [rows, classes] against labels. */
export function meanCrossEntropy(z: Float64Array, labels: Int32Array, K: number): number {
  const rows = labels.length;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, z[i * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(z[i * K + k]! - max);
    total += max + Math.log(sum) - z[i * K + labels[i]!]!;
  }
  return total / rows;
}

export function nonZeros(model: LogisticModel): number {
  return model.weight.reduce((n, w) => n + (w !== 0 ? 1 : 0), 0);
}

interface Problem {
  // The design with a column of ones (the bias), [n, F + 1] = left [n, r] x right [r, F + 1],
  // or left itself with right null when that is cheaper.
  left: Tensor;
  right: Tensor | null;
  rows: number;
  targets: Tensor; // [n, K] one-hot
  penalised: Tensor; // [1, F + 1]: 1 for weights, 0 for the bias column
  lipschitz: number; // of the mean cross-entropy's gradient, a global bound (fitPath's first step is K/2 times its inverse)
}

function setUp(d: LabelledData): Problem {
  const onehot = new Float64Array(d.rows * d.classes);
  for (let i = 0; i < d.rows; i++) onehot[i * d.classes + d.labels[i]!] = 1;
  const f = d.factors;
  // Per product: n (F + 1) K multiply-adds dense, (F + 1) (r + 1) K + n (r + 1) K factored.
  const factored = f !== undefined && (f.rank + 1) * (d.cols + 1 + d.rows) < d.rows * (d.cols + 1);
  let left: Tensor, right: Tensor | null = null;
  if (factored) {
    // [x, 1] = [left, 1] x [[right, 0], [0, 1]]
    const r = f.rank;
    const leftOnes = new Float64Array(d.rows * (r + 1));
    for (let i = 0; i < d.rows; i++) {
      leftOnes.set(f.left.subarray(i * r, (i + 1) * r), i * (r + 1));
      leftOnes[i * (r + 1) + r] = 1;
    }
    const rightBlock = new Float64Array((r + 1) * (d.cols + 1));
    for (let k = 0; k < r; k++) rightBlock.set(f.right.subarray(k * d.cols, (k + 1) * d.cols), k * (d.cols + 1));
    rightBlock[(r + 1) * (d.cols + 1) - 1] = 1;
    left = tensor(leftOnes, [d.rows, r + 1], { dtype: 'float64' });
    right = tensor(rightBlock, [r + 1, d.cols + 1], { dtype: 'float64' });
  } else {
    const withBias = new Float64Array(d.rows * (d.cols + 1));
    for (let i = 0; i < d.rows; i++) {
      withBias.set(d.x.subarray(i * d.cols, (i + 1) * d.cols), i * (d.cols + 1));
      withBias[i * (d.cols + 1) + d.cols] = 1;
    }
    left = tensor(withBias, [d.rows, d.cols + 1], { dtype: 'float64' });
  }
  const penalised = new Float64Array(d.cols + 1).fill(1);
  penalised[d.cols] = 0;
  const problem = {
    left, right, rows: d.rows, targets: tensor(onehot, [d.rows, d.classes], { dtype: 'float64' }),
    penalised: tensor(penalised, [1, d.cols + 1], { dtype: 'float64' }), lipschitz: 0,
  };
  // The softmax cross-entropy's Hessian in the logits is at most 1/2 I, so
  // the gradient in W is Lipschitz with 0.5 * sigma_max(X)^2 / n.
  problem.lipschitz = 0.5 * largestEigenvalue(problem) / d.rows;
  return problem;
}

/** Logits [n, K] = X w^T for w [K, F + 1]. */
function times(p: Problem, w: Tensor): Tensor {
  solverCounters.products++;
  return p.right === null ? p.left.matmul(w.transpose(0, 1)) : p.left.matmul(p.right.matmul(w.transpose(0, 1)));
}

/** r^T X: [K, F + 1] for r [n, K]. */
function transposeTimes(p: Problem, r: Tensor): Tensor {
  solverCounters.products++;
  const t = r.transpose(0, 1).matmul(p.left);
  return p.right === null ? t : t.matmul(p.right);
}

/** sigma_max(X)^2 by power iteration on X^T X, rounded up a little (a step too long diverges, one too short is only slower). */
function largestEigenvalue(p: Problem): number {
  const width = (p.right ?? p.left).size(1);
  let v = tidy(() => F.normalize(tensor(Float64Array.from({ length: width }, (_, i) => 1 + ((i * 7919) % 13) / 13), [1, width], { dtype: 'float64' }), 1));
  let value = 0;
  for (let i = 0; i < 50; i++) {
    const next = tidy(() => transposeTimes(p, times(p, v))); // [1, F + 1]
    const norm = next.norm().item();
    v.dispose();
    v = tidy(() => next.div(norm));
    next.dispose();
    if (Math.abs(norm - value) <= 1e-6 * norm) { value = norm; break; }
    value = norm;
  }
  v.dispose();
  return value * 1.02;
}

/** A point w [K, F + 1] with its logits X w^T [n, K]: every step needs both, and the momentum step combines them linearly. */
interface Point { w: Tensor; logits: Tensor }

function dispose(point: Point): void {
  point.w.dispose();
  point.logits.dispose();
}

/** The smooth part at a point: mean cross-entropy (+ the L2 term) and, when asked, its gradient. */
function smoothPart(p: Problem, at: Point, lambda: number, penalty: Penalty, withGradient: boolean): { value: number; gradient: Tensor | null } {
  let value = F.crossEntropy(at.logits, p.targets).item();
  const penalised = penalty === 'l2' ? at.w.mul(p.penalised) : null;
  if (penalised !== null) value += 0.5 * lambda * penalised.square().sum().item();
  if (!withGradient) return { value, gradient: null };
  const g = transposeTimes(p, F.softmax(at.logits, 1).sub(p.targets)).div(p.rows); // [K, F + 1]
  return { value, gradient: penalised === null ? g : g.add(penalised.mul(lambda)) };
}

/** The proximal step of the penalty (L1: soft-thresholding of the weights; L2 is in the smooth part). */
function prox(v: Tensor, threshold: number, penalty: Penalty, penalised: Tensor): Tensor {
  if (penalty === 'l2' || threshold === 0) return v;
  const t = penalised.mul(threshold); // [1, F + 1]
  return v.sub(t).relu().sub(v.neg().sub(t).relu());
}

interface Step { next: Point; mapping: number; restart: boolean; step: number }

/**
 * One proximal gradient step from z with backtracking: the step grows a
 * little every time and halves until the quadratic upper bound holds, so it
 * follows the local curvature instead of the global bound.
 */
function proximalStep(p: Problem, z: Point, w: Point, lambda: number, penalty: Penalty, step: number): Step {
  return tidy(() => {
    const { value, gradient } = smoothPart(p, z, lambda, penalty, true);
    for (;;) {
      const nextW = prox(z.w.sub(gradient!.mul(step)), step * lambda, penalty, p.penalised);
      const next = { w: nextW, logits: times(p, nextW) };
      const diff = nextW.sub(z.w);
      const bound = value + gradient!.mul(diff).sum().item() + diff.square().sum().item() / (2 * step);
      if (smoothPart(p, next, lambda, penalty, false).value <= bound + 1e-12 * Math.abs(value) || step < 1e-12) {
        // Gradient mapping (z - next) / step: zero exactly when z is optimal.
        const mapping = diff.abs().amax().item() / step;
        // Restart the momentum when it points uphill (O'Donoghue and Candes' gradient scheme).
        const restart = diff.mul(nextW.sub(w.w)).sum().item() < 0;
        return { next, mapping, restart, step };
      }
      step /= 2;
      solverCounters.backtracks++;
    }
  });
}

function solve(p: Problem, start: Tensor, lambda: number, options: SolveOptions, initialStep: number): { solution: Tensor; iterations: number; converged: boolean; step: number } {
  const threshold = Math.max(options.tolerance ?? DEFAULT_TOLERANCE, (options.relativeTolerance ?? 0) * lambda);
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  let step = initialStep;
  let w: Point = tidy(() => ({ w: start.clone(), logits: times(p, start) }));
  let z: Point = tidy(() => ({ w: start.clone(), logits: w.logits.clone() }));
  let theta = 1;
  solverCounters.solves++;
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    solverCounters.iterations++;
    if (++sinceRelease >= RELEASE_EVERY) {
      releaseMemory();
      sinceRelease = 0;
    }
    const taken = proximalStep(p, z, w, lambda, options.penalty, step * 1.25);
    step = taken.step;
    const { next, mapping, restart } = taken;
    if (mapping <= threshold) {
      dispose(w);
      dispose(z);
      next.logits.dispose();
      return { solution: next.w, iterations: iteration, converged: true, step };
    }
    const nextTheta = restart ? 1 : (1 + Math.sqrt(1 + 4 * theta * theta)) / 2;
    const momentum = restart ? 0 : (theta - 1) / nextTheta;
    // The logits are linear in w, so the extrapolated point's come without a product.
    const nextZ: Point = tidy(() => (momentum === 0
      ? { w: next.w.clone(), logits: next.logits.clone() }
      : { w: next.w.add(next.w.sub(w.w).mul(momentum)), logits: next.logits.add(next.logits.sub(w.logits).mul(momentum)) }));
    dispose(w);
    dispose(z);
    w = next;
    z = nextZ;
    theta = nextTheta;
  }
  dispose(z);
  w.logits.dispose();
  return { solution: w.w, iterations: maxIterations, converged: false, step };
}

function toModel(solution: Tensor, d: LabelledData, penalty: Penalty, lambda: number, iterations: number, converged: boolean): LogisticModel {
  const all = solution.data() as Float64Array; // [K, F + 1]
  const weight = new Float64Array(d.classes * d.cols);
  const bias = new Float64Array(d.classes);
  for (let k = 0; k < d.classes; k++) {
    weight.set(all.subarray(k * (d.cols + 1), k * (d.cols + 1) + d.cols), k * d.cols);
    bias[k] = all[k * (d.cols + 1) + d.cols]!;
  }
  return { weight, bias, classes: d.classes, features: d.cols, penalty, lambda, iterations, converged };
}
