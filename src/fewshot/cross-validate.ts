// Choosing the penalty on the shots alone: stratified k-fold cross-validation
// over the labelled images, the whole path fitted per fold (warm starts),
// the penalty with the best mean validation accuracy kept (ties: lower
// validation log-loss, then the larger penalty), then the path refitted on
// all shots down to that penalty.
import { createRng } from '../data/random.js';
import { argmaxRows, fitPath, logits, meanCrossEntropy, type LabelledData, type LogisticModel, type SolveOptions } from './logistic.js';

export interface CrossValidationOptions extends SolveOptions {
  /** Folds (default 3), at most the number of shots of the rarest class. */
  folds?: number;
  seed?: number;
  /**
   * The penalty used when some class has a single shot: no fold could then
   * hold it out and still train on it, so cross-validation is impossible.
   */
  fallbackLambda: number;
}

export interface CrossValidation {
  lambdas: number[];
  /** Mean validation accuracy and log-loss per penalty; empty when the fallback was used. */
  accuracy: number[];
  logLoss: number[];
  folds: number;
  chosenIndex: number;
  lambda: number;
  /** Why the fallback penalty was used, or null. */
  fallback: string | null;
}

export interface Selected {
  model: LogisticModel;
  /** The refitted path on all shots, from the largest penalty down to the chosen one. */
  path: LogisticModel[];
  cv: CrossValidation;
}

/** Fold of every row: each class's rows, in a seeded random order, dealt round-robin into the folds. */
export function stratifiedFolds(labels: Int32Array, classes: number, folds: number, seed = 0): Int32Array {
  const rng = createRng(seed);
  const fold = new Int32Array(labels.length);
  for (let k = 0; k < classes; k++) {
    const rows = labels.reduce<number[]>((acc, y, i) => (y === k ? [...acc, i] : acc), []);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    rows.forEach((row, position) => { fold[row] = position % folds; });
  }
  return fold;
}

export function rowsOf(d: LabelledData, keep: (row: number) => boolean): LabelledData {
  const rows: number[] = [];
  for (let i = 0; i < d.rows; i++) if (keep(i)) rows.push(i);
  const x = new Float64Array(rows.length * d.cols);
  rows.forEach((row, i) => x.set(d.x.subarray(row * d.cols, (row + 1) * d.cols), i * d.cols));
  const subset: LabelledData = { x, rows: rows.length, cols: d.cols, labels: Int32Array.from(rows, (r) => d.labels[r]!), classes: d.classes };
  if (d.factors !== undefined) {
    const { left, right, rank } = d.factors;
    const leftRows = new Float64Array(rows.length * rank);
    rows.forEach((row, i) => leftRows.set(left.subarray(row * rank, (row + 1) * rank), i * rank));
    subset.factors = { left: leftRows, right, rank };
  }
  return subset;
}

/** Penalties from largest to smallest; the data's per-class counts decide the number of folds. */
export function crossValidate(d: LabelledData, lambdas: readonly number[], options: CrossValidationOptions): CrossValidation {
  const path = [...lambdas];
  if (path.length === 0) throw new Error('cross-validation needs at least one penalty');
  for (let i = 1; i < path.length; i++) if (path[i]! > path[i - 1]!) throw new Error('penalties must be ordered from largest to smallest');
  const counts = new Int32Array(d.classes);
  for (const y of d.labels) counts[y]!++;
  const rarest = Math.min(...counts);
  const folds = Math.min(options.folds ?? 3, rarest);
  if (folds < 2) {
    const fallback = `${rarest === 0 ? 'a class has no shots' : 'a class has a single shot'}: no cross-validation, penalty ${options.fallbackLambda.toPrecision(3)} (the fallback)`;
    return { lambdas: path, accuracy: [], logLoss: [], folds: 0, chosenIndex: -1, lambda: options.fallbackLambda, fallback };
  }
  const assignment = stratifiedFolds(d.labels, d.classes, folds, options.seed ?? 0);
  const accuracy = new Array<number>(path.length).fill(0);
  const losses = new Array<number>(path.length).fill(0);
  for (let f = 0; f < folds; f++) {
    const train = rowsOf(d, (i) => assignment[i] !== f);
    const validation = rowsOf(d, (i) => assignment[i] === f);
    fitPath(train, path, options).forEach((model, i) => {
      const z = logits(model, validation.x, validation.rows);
      const predicted = argmaxRows(z, d.classes);
      accuracy[i]! += predicted.reduce((n, p, r) => n + (p === validation.labels[r] ? 1 : 0), 0) / validation.rows / folds;
      losses[i]! += meanCrossEntropy(z, validation.labels, d.classes) / folds;
    });
  }
  let chosenIndex = 0;
  for (let i = 1; i < path.length; i++) {
    const better = accuracy[i]! > accuracy[chosenIndex]! + 1e-12
      || (Math.abs(accuracy[i]! - accuracy[chosenIndex]!) <= 1e-12 && losses[i]! < losses[chosenIndex]! - 1e-12);
    if (better) chosenIndex = i;
  }
  return { lambdas: path, accuracy, logLoss: losses, folds, chosenIndex, lambda: path[chosenIndex]!, fallback: null };
}

/** Cross-validates, then fits on all the shots along the path down to the chosen penalty. */
export function selectAndFit(d: LabelledData, lambdas: readonly number[], options: CrossValidationOptions): Selected {
  const cv = crossValidate(d, lambdas, options);
  const prefix = cv.fallback === null ? lambdas.slice(0, cv.chosenIndex + 1) : [...lambdas.filter((l) => l > cv.lambda), cv.lambda];
  const path = fitPath(d, prefix, options);
  return { model: path[path.length - 1]!, path, cv };
}

/** n penalties from hi down to lo, evenly spaced in log scale. */
export function logSpaced(hi: number, lo: number, n: number): number[] {
  if (!(hi > 0 && lo > 0 && hi >= lo) || n < 1) throw new Error(`expected hi >= lo > 0 and n >= 1, got ${hi}, ${lo}, ${n}`);
  if (n === 1) return [hi];
  return Array.from({ length: n }, (_, i) => hi * (lo / hi) ** (i / (n - 1)));
}
