// A few-shot head on normalised image embeddings x [E]: features
// s = B x (B [F, E]: description and class-prompt embeddings for SLR-AVD,
// the class prompts only, or the identity for a linear probe), standardised
// with the shots' statistics, then a multinomial logistic regression whose
// penalty (L1 or L2) is chosen by cross-validation on the shots.
import { noGrad, tensor, tidy } from '../engine/index.js';
import { selectAndFit, logSpaced, type CrossValidation } from './cross-validate.js';
import { fitPath, lambdaMax, logits, type LabelledData, type LogisticModel, type Penalty } from './logistic.js';
import type { TextSide } from './embed.js';

export type Method = 'slr-avd' | 'l1-prompts' | 'linear-probe';
export const METHODS: readonly Method[] = ['slr-avd', 'l1-prompts', 'linear-probe'];

/** The features of a method: rows of B [F, E] and their names. */
export interface FeatureBasis {
  names: string[];
  /** The class each feature describes (-1 for image-embedding dimensions). */
  owner: Int32Array;
  basis: Float32Array;
  dim: number;
}

export interface Standardizer { mean: Float64Array; std: Float64Array }

export interface FeatureHead extends FeatureBasis {
  method: Method;
  classNames: string[];
  standardizer: Standardizer;
  model: LogisticModel;
  cv: CrossValidation;
}

export interface HeadOptions {
  folds?: number;
  seed?: number;
  /** Solver stopping rule: gradient mapping below max(tolerance, relativeTolerance x lambda); defaults 1e-6 and 2e-2 (at most 1000 iterations per penalty). */
  tolerance?: number;
  relativeTolerance?: number;
  maxIterations?: number;
  /** A fixed penalty instead of cross-validation (the path still runs down to it). */
  lambda?: number;
  /** Penalties on the path (default 8). */
  pathLength?: number;
}

export const PENALTY: Record<Method, Penalty> = { 'slr-avd': 'l1', 'l1-prompts': 'l1', 'linear-probe': 'l2' };

// The L1 path runs from lambda_max (no weights) down to this fraction of it.
const L1_PATH_END = 1e-2;
// With one shot per class no fold can be held out: these penalties are used
// instead (fixed in advance, not tuned on any evaluation data).
const L1_ONE_SHOT_FRACTION = 0.1;
const L2_PATH = [10, 1e-3] as const;
const L2_ONE_SHOT = 1e-2;

export function basisOf(method: Method, side: TextSide): FeatureBasis {
  const E = side.dim;
  if (method === 'linear-probe') {
    const basis = new Float32Array(E * E);
    for (let i = 0; i < E; i++) basis[i * E + i] = 1;
    return { names: Array.from({ length: E }, (_, i) => `image embedding ${i}`), owner: new Int32Array(E).fill(-1), basis, dim: E };
  }
  const from = method === 'slr-avd' ? 0 : side.firstPrompt;
  return { names: side.texts.slice(from), owner: side.owner.slice(from), basis: side.embeddings.slice(from * E), dim: E };
}

/**
 * s = x B^T: [rows, F] from embeddings [rows, E], in float64 (the products of
 * float32 values are exact there). On the engine: CIFAR-100's 808 features of
 * 2,000 test images are 414M multiply-adds, seconds as a JS loop.
 */
export function featuresOf(b: FeatureBasis, embeddings: Float32Array, rows: number): Float64Array {
  const E = b.dim, F = b.names.length;
  if (rows === 0 || F === 0) return new Float64Array(rows * F);
  return noGrad(() => tidy(() => {
    const x = tensor(embeddings.subarray(0, rows * E), [rows, E]).to('float64');
    const basis = tensor(b.basis.subarray(0, F * E), [F, E]).to('float64');
    return x.matmul(basis.transpose(0, 1)).contiguous().data() as Float64Array;
  }));
}

/** The given rows of a row-major matrix with `cols` columns. */
export function rowsOfMatrix(matrix: Float32Array, cols: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => out.set(matrix.subarray(r * cols, (r + 1) * cols), i * cols));
  return out;
}

export function fitStandardizer(x: Float64Array, rows: number, cols: number): Standardizer {
  const mean = new Float64Array(cols), std = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j]! += x[i * cols + j]! / rows;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) std[j]! += (x[i * cols + j]! - mean[j]!) ** 2 / rows;
  // A feature constant over the shots keeps its scale (dividing by ~0 would blow it up).
  for (let j = 0; j < cols; j++) std[j] = std[j]! > 1e-12 ? Math.sqrt(std[j]!) : 1;
  return { mean, std };
}

export function standardize(x: Float64Array, rows: number, s: Standardizer): Float64Array {
  const cols = s.mean.length;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = (x[i * cols + j]! - s.mean[j]!) / s.std[j]!;
  return out;
}

/**
 * The design a head is fitted on: the standardised features (x B^T - mean) / std
 * of normalised image embeddings [rows, E], which are [x, 1] times a matrix of
 * E + 1 rows; the solver is handed that factorisation.
 */
export function headDesign(b: FeatureBasis, classes: number, embeddings: Float32Array, labels: Int32Array): { data: LabelledData; standardizer: Standardizer } {
  const rows = labels.length, cols = b.names.length, E = b.dim;
  if (embeddings.length !== rows * E) throw new Error(`expected ${rows} x ${E} image embeddings, got ${embeddings.length} values`);
  const features = featuresOf(b, embeddings, rows);
  const standardizer = fitStandardizer(features, rows, cols);
  const rank = E + 1;
  const left = new Float64Array(rows * rank);
  for (let i = 0; i < rows; i++) {
    for (let e = 0; e < E; e++) left[i * rank + e] = embeddings[i * E + e]!;
    left[i * rank + E] = 1;
  }
  const right = new Float64Array(rank * cols);
  for (let j = 0; j < cols; j++) {
    const { mean, std } = standardizer;
    for (let e = 0; e < E; e++) right[e * cols + j] = b.basis[j * E + e]! / std[j]!;
    right[E * cols + j] = -mean[j]! / std[j]!;
  }
  const data: LabelledData = {
    x: standardize(features, rows, standardizer), rows, cols, labels, classes, factors: { left, right, rank },
  };
  return { data, standardizer };
}

/** Fits a method's head on normalised image embeddings [rows, E] of the shots. */
export function fitHeadOnEmbeddings(method: Method, b: FeatureBasis, classNames: string[], embeddings: Float32Array, labels: Int32Array,
  options: HeadOptions = {}): FeatureHead {
  const { data, standardizer } = headDesign(b, classNames.length, embeddings, labels);
  return fitStandardized(method, b, classNames, standardizer, data, options);
}

function fitStandardized(method: Method, b: FeatureBasis, classNames: string[], standardizer: Standardizer, data: LabelledData,
  options: HeadOptions): FeatureHead {
  const penalty = PENALTY[method];
  const n = options.pathLength ?? 8;
  let lambdas: number[], fallbackLambda: number;
  if (penalty === 'l1') {
    const top = lambdaMax(data);
    lambdas = logSpaced(top, top * L1_PATH_END, n);
    fallbackLambda = top * L1_ONE_SHOT_FRACTION;
  } else {
    lambdas = logSpaced(L2_PATH[0], L2_PATH[1], n);
    fallbackLambda = L2_ONE_SHOT;
  }
  const solver = {
    penalty, tolerance: options.tolerance ?? 1e-6, relativeTolerance: options.relativeTolerance ?? 2e-2, maxIterations: options.maxIterations ?? 1000,
  };
  if (options.lambda !== undefined) {
    const path = fitPath(data, [...lambdas.filter((l) => l > options.lambda!), options.lambda], solver);
    const cv: CrossValidation = { lambdas, accuracy: [], logLoss: [], folds: 0, chosenIndex: -1, lambda: options.lambda, fallback: 'fixed penalty, no cross-validation' };
    return { ...b, method, classNames, standardizer, model: path[path.length - 1]!, cv };
  }
  const { model, cv } = selectAndFit(data, lambdas, { ...solver, fallbackLambda, folds: options.folds, seed: options.seed });
  return { ...b, method, classNames, standardizer, model, cv };
}

export function fitHead(method: Method, side: TextSide, embeddings: Float32Array, labels: Int32Array, options: HeadOptions = {}): FeatureHead {
  return fitHeadOnEmbeddings(method, basisOf(method, side), side.classNames, embeddings, labels, options);
}

/** Logits [rows, K] from raw features [rows, F]. */
export function headLogitsOnFeatures(head: FeatureHead, features: Float64Array, rows: number): Float64Array {
  return logits(head.model, standardize(features, rows, head.standardizer), rows);
}

/** Logits [rows, K] from normalised image embeddings [rows, E]. */
export function headLogits(head: FeatureHead, embeddings: Float32Array, rows: number): Float64Array {
  return headLogitsOnFeatures(head, featuresOf(head, embeddings, rows), rows);
}

export interface SelectedFeature { text: string; weight: number }

/**
 * What the head reads for each class: the features with a positive weight
 * for it, largest first (weights are per standardised feature, so they
 * compare), and how many features count against it.
 */
export function selectedFeatures(head: FeatureHead): { className: string; positive: SelectedFeature[]; negative: number }[] {
  const F = head.names.length;
  return head.classNames.map((className, k) => {
    const positive: SelectedFeature[] = [];
    let negative = 0;
    for (let f = 0; f < F; f++) {
      const w = head.model.weight[k * F + f]!;
      if (w > 0) positive.push({ text: head.names[f]!, weight: w });
      else if (w < 0) negative++;
    }
    positive.sort((a, b) => b.weight - a.weight);
    return { className, positive, negative };
  });
}

/** Zero-shot logits up to scale: cosine of each embedding [rows, E] with each class prompt. */
export function zeroShotScores(side: TextSide, embeddings: Float32Array, rows: number): Float64Array {
  return featuresOf(basisOf('l1-prompts', side), embeddings, rows);
}
