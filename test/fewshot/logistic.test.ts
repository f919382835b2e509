// The sparse multinomial logistic regression: optimality (KKT conditions),
// the all-zero solution above lambda_max, the L2 fit, cross-validation, and
// the arithmetic around it (logits, lambda_max, head features, no leaks).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/data/random.js';
import { liveTensorCount } from '../../src/engine/index.js';
import { fit, fitPath, lambdaMax, logits, logLoss, nonZeros, predict, type LabelledData, type LogisticModel } from '../../src/fewshot/logistic.js';
import { crossValidate, logSpaced, selectAndFit, stratifiedFolds } from '../../src/fewshot/cross-validate.js';
import { featuresOf, type FeatureBasis } from '../../src/fewshot/head.js';

/** Gaussian blobs: class k's mean is +2 on feature k; the other features are noise. */
function blobs(perClass: number, classes: number, features: number, seed: number): LabelledData {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const rows = perClass * classes;
  const x = new Float64Array(rows * features);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    labels[i] = i % classes;
    for (let j = 0; j < features; j++) x[i * features + j] = gauss() + (j === labels[i] ? 2 : 0);
  }
  return { x, rows, cols: features, labels, classes };
}

/** Gradient of the mean cross-entropy in W [K, F] and b [K], computed by hand in JS. */
function lossGradient(m: LogisticModel, d: LabelledData): { gw: Float64Array; gb: Float64Array } {
  const gw = new Float64Array(m.classes * m.features);
  const gb = new Float64Array(m.classes);
  for (let i = 0; i < d.rows; i++) {
    const z = Array.from({ length: m.classes }, (_, k) => {
      let s = m.bias[k]!;
      for (let j = 0; j < d.cols; j++) s += m.weight[k * d.cols + j]! * d.x[i * d.cols + j]!;
      return s;
    });
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let k = 0; k < m.classes; k++) {
      const r = (e[k]! / sum - (d.labels[i] === k ? 1 : 0)) / d.rows;
      gb[k]! += r;
      for (let j = 0; j < d.cols; j++) gw[k * d.cols + j]! += r * d.x[i * d.cols + j]!;
    }
  }
  return { gw, gb };
}

const objective = (m: LogisticModel, d: LabelledData): number =>
  logLoss(m, d.x, d.labels) + (m.penalty === 'l1' ? m.lambda * m.weight.reduce((s, w) => s + Math.abs(w), 0) : 0.5 * m.lambda * m.weight.reduce((s, w) => s + w * w, 0));

test('L1 fit satisfies the KKT conditions: |gradient| = lambda on the support with the opposite sign, <= lambda off it', () => {
  const d = blobs(6, 3, 5, 1);
  const lambda = 0.3 * lambdaMax(d);
  const m = fit(d, lambda, { penalty: 'l1', tolerance: 1e-9, maxIterations: 20000 });
  assert.ok(m.converged, `did not converge in ${m.iterations} iterations`);
  const { gw, gb } = lossGradient(m, d);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(gb[k]!) < 1e-6, `bias gradient ${gb[k]} should be 0`);
  let support = 0;
  m.weight.forEach((w, i) => {
    if (w !== 0) {
      support++;
      assert.ok(Math.abs(gw[i]! + lambda * Math.sign(w)) < 1e-6, `weight ${i} = ${w}: gradient ${gw[i]} should be ${-lambda * Math.sign(w)}`);
    } else {
      assert.ok(Math.abs(gw[i]!) <= lambda + 1e-6, `zero weight ${i}: |gradient| ${Math.abs(gw[i]!)} exceeds lambda ${lambda}`);
    }
  });
  assert.ok(support > 0 && support < 15, `support ${support} of 15 should be sparse but not empty`);
  // The informative weights (class k on feature k) are in the support and positive.
  for (let k = 0; k < 3; k++) assert.ok(m.weight[k * 5 + k]! > 0, `class ${k} should use its own feature`);
});

test('the L1 optimum beats every nearby point (brute-force check of the convex objective)', () => {
  const d = blobs(4, 3, 3, 2);
  const m = fit(d, 0.2 * lambdaMax(d), { penalty: 'l1', tolerance: 1e-10, maxIterations: 20000 });
  const best = objective(m, d);
  const rng = createRng(9);
  for (let trial = 0; trial < 200; trial++) {
    const scale = trial < 100 ? 1e-3 : 1e-1;
    const other: LogisticModel = { ...m, weight: m.weight.map((w) => w + scale * (rng() - 0.5)), bias: m.bias.map((b) => b + scale * (rng() - 0.5)) };
    assert.ok(objective(other, d) >= best - 1e-10, `a perturbed point has a lower objective: ${objective(other, d)} < ${best}`);
  }
});

test('lambda at or above lambda_max gives all-zero weights; just below it, some weight is non-zero', () => {
  const d = blobs(5, 4, 6, 3);
  const top = lambdaMax(d);
  // At lambda_max itself the boundary is decided by rounding: test a hair above it.
  const [above, atMax, below] = fitPath(d, [top * 1.5, top * (1 + 1e-9), top * 0.9], { penalty: 'l1', tolerance: 1e-9 });
  assert.equal(nonZeros(above!), 0);
  assert.equal(nonZeros(atMax!), 0);
  assert.ok(nonZeros(below!) > 0, 'just below lambda_max a weight should enter');
  // With zero weights the bias is the log class frequency (balanced: all equal).
  assert.ok(Math.max(...atMax!.bias) - Math.min(...atMax!.bias) < 1e-6);
});

test('the path gets denser as lambda falls, and L2 has a zero gradient at its optimum', () => {
  const d = blobs(8, 3, 8, 4);
  const path = fitPath(d, logSpaced(lambdaMax(d), lambdaMax(d) * 0.01, 6), { penalty: 'l1' });
  const sizes = path.map(nonZeros);
  assert.equal(sizes[0], 0);
  assert.ok(sizes[5]! > sizes[1]!, `support should grow along the path: ${sizes.join(', ')}`);
  const lambda = 0.05;
  const m = fit(d, lambda, { penalty: 'l2', tolerance: 1e-9, maxIterations: 20000 });
  const { gw, gb } = lossGradient(m, d);
  const worst = Math.max(...gw.map((g, i) => Math.abs(g + lambda * m.weight[i]!)), ...gb.map(Math.abs));
  assert.ok(worst < 1e-6, `L2 stationarity violated by ${worst}`);
  assert.equal(nonZeros(m), 24, 'L2 weights are dense');
});

test('stratified folds keep every class in every fold', () => {
  const labels = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const folds = stratifiedFolds(labels, 3, 4, 5);
  for (let f = 0; f < 4; f++) {
    const classes = new Set(Array.from(labels).filter((_, i) => folds[i] === f));
    assert.equal(classes.size, 3, `fold ${f} holds classes ${[...classes]}`);
  }
});

test('cross-validation picks a penalty inside the path, and a single shot uses the stated fallback', () => {
  const d = blobs(6, 3, 10, 6);
  const lambdas = logSpaced(lambdaMax(d), lambdaMax(d) * 0.01, 8);
  const cv = crossValidate(d, lambdas, { penalty: 'l1', folds: 3, fallbackLambda: 1 });
  assert.equal(cv.folds, 3);
  assert.equal(cv.fallback, null);
  assert.ok(cv.chosenIndex > 0, `lambda_max (all zero, chance accuracy) should not win: accuracies ${cv.accuracy.map((a) => a.toFixed(2))}`);
  assert.ok(cv.accuracy[cv.chosenIndex]! >= Math.max(...cv.accuracy) - 1e-12);
  assert.ok(cv.accuracy[cv.chosenIndex]! > 0.6, `the chosen penalty should classify the blobs: ${cv.accuracy[cv.chosenIndex]}`);
  const selected = selectAndFit(d, lambdas, { penalty: 'l1', folds: 3, fallbackLambda: 1 });
  assert.equal(selected.model.lambda, cv.lambda);
  const accuracy = predict(selected.model, d.x, d.rows).reduce((n, p, i) => n + (p === d.labels[i] ? 1 : 0), 0) / d.rows;
  assert.ok(accuracy > 0.8, `training accuracy ${accuracy}`);

  const oneShot = blobs(1, 3, 10, 7);
  const fallback = selectAndFit(oneShot, logSpaced(1, 0.01, 4), { penalty: 'l1', fallbackLambda: 0.05 });
  assert.match(fallback.cv.fallback ?? '', /a class has a single shot: no cross-validation, penalty 0\.0500 \(the fallback\)/);
  assert.equal(fallback.model.lambda, 0.05);
});

/** Rows of rank `rank`: x = left [rows, rank] x right [rank, cols], labels from the first latent coordinate's sign and the second's. */
function lowRank(rows: number, cols: number, rank: number, seed: number): LabelledData {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const left = Float64Array.from({ length: rows * rank }, gauss);
  const right = Float64Array.from({ length: rank * cols }, gauss);
  const x = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let r = 0; r < rank; r++) x[i * cols + j]! += left[i * rank + r]! * right[r * cols + j]!;
  const labels = Int32Array.from({ length: rows }, (_, i) => (left[i * rank]! + 0.5 * gauss() > 0 ? 1 : 0) + (left[i * rank + 1]! > 0.3 ? 1 : 0));
  return { x, rows, cols, labels, classes: 3, factors: { left, right, rank } };
}

test('a low-rank factorisation of the design gives the same path as the dense design, and cross-validation the same choice', () => {
  const factored = lowRank(60, 30, 4, 7);
  const { factors: _, ...dense } = factored;
  const lambdas = logSpaced(lambdaMax(dense), lambdaMax(dense) * 0.05, 4);
  const options = { penalty: 'l1' as const, tolerance: 1e-9, maxIterations: 20000 };
  const a = fitPath(dense, lambdas, options), b = fitPath(factored, lambdas, options);
  a.forEach((m, i) => {
    assert.ok(m.converged && b[i]!.converged);
    const gap = m.weight.reduce((worst, w, j) => Math.max(worst, Math.abs(w - b[i]!.weight[j]!)), 0);
    assert.ok(Math.abs(objective(m, dense) - objective(b[i]!, dense)) < 1e-8, `objectives differ at lambda ${lambdas[i]}`);
    assert.ok(gap < 1e-3, `weights differ by ${gap} at lambda ${lambdas[i]}`);
  });
  const cvDense = crossValidate(dense, lambdas, { ...options, fallbackLambda: 0.1 });
  const cvFactored = crossValidate(factored, lambdas, { ...options, fallbackLambda: 0.1 });
  assert.equal(cvFactored.chosenIndex, cvDense.chosenIndex);
  cvDense.accuracy.forEach((acc, i) => assert.ok(Math.abs(acc - cvFactored.accuracy[i]!) < 1e-9));
});

test('factors that do not fit the design are one clear error', () => {
  const d = lowRank(20, 10, 3, 1);
  assert.throws(() => fit({ ...d, factors: { ...d.factors!, rank: 4 } }, 0.1, { penalty: 'l1' }), /low-rank factors do not fit a \[20, 10\] design of rank 4/);
});

test('logits of a sparse model read only its non-zero weights and equal the dense sum exactly; lambda_max equals its definition', () => {
  const d = blobs(5, 4, 7, 11);
  const rng = createRng(12);
  const weight = Float64Array.from({ length: 4 * 7 }, () => (rng() < 0.3 ? rng() - 0.5 : 0));
  const model: LogisticModel = { weight, bias: Float64Array.from([0.1, -0.2, 0.3, 0]), classes: 4, features: 7, penalty: 'l1', lambda: 0.1, iterations: 1, converged: true };
  const z = logits(model, d.x, d.rows);
  for (let i = 0; i < d.rows; i++) {
    for (let k = 0; k < 4; k++) {
      let s = model.bias[k]!;
      for (let j = 0; j < 7; j++) if (weight[k * 7 + j] !== 0) s += weight[k * 7 + j]! * d.x[i * 7 + j]!;
      assert.equal(z[i * 4 + k], s);
    }
  }
  // lambda_max: the largest |gradient| at W = 0 with the bias at the log class frequencies.
  const unbalanced: LabelledData = { ...d, labels: d.labels.map((y, i) => (i < 6 ? 0 : y)) };
  const counts = [0, 0, 0, 0];
  for (const y of unbalanced.labels) counts[y]!++;
  let expected = 0;
  for (let k = 0; k < 4; k++) {
    for (let j = 0; j < 7; j++) {
      let g = 0;
      for (let i = 0; i < d.rows; i++) g += (counts[k]! / d.rows - (unbalanced.labels[i] === k ? 1 : 0)) * d.x[i * 7 + j]! / d.rows;
      expected = Math.max(expected, Math.abs(g));
    }
  }
  assert.ok(Math.abs(lambdaMax(unbalanced) - expected) <= 1e-12 * expected, `lambda_max ${lambdaMax(unbalanced)}, by its definition ${expected}`);
});

test('fits leave no native tensor behind: the live count is the same before and after cross-validated paths', () => {
  const d = lowRank(60, 30, 4, 13);
  const lambdas = logSpaced(lambdaMax(d), lambdaMax(d) * 0.05, 4);
  const before = liveTensorCount();
  for (let repeat = 0; repeat < 2; repeat++) {
    selectAndFit(d, lambdas, { penalty: 'l1', folds: 3, fallbackLambda: 0.1 });
    selectAndFit({ ...d, factors: undefined }, lambdas, { penalty: 'l2', folds: 3, fallbackLambda: 0.1 });
    assert.equal(liveTensorCount(), before, `after fit ${repeat + 1}`);
  }
});

test('head features x B^T are the float64 sums of the float32 products', () => {
  const rng = createRng(14);
  const rows = 5, E = 9, F_ = 6;
  const embeddings = Float32Array.from({ length: rows * E }, () => rng() - 0.5);
  const basis: FeatureBasis = { names: Array.from({ length: F_ }, (_, f) => `text ${f}`), owner: new Int32Array(F_), basis: Float32Array.from({ length: F_ * E }, () => rng() - 0.5), dim: E };
  const s = featuresOf(basis, embeddings, rows);
  assert.equal(s.length, rows * F_);
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < F_; f++) {
      let expected = 0;
      for (let e = 0; e < E; e++) expected += embeddings[i * E + e]! * basis.basis[f * E + e]!;
      assert.ok(Math.abs(s[i * F_ + f]! - expected) <= 1e-15, `feature ${f} of row ${i}: ${s[i * F_ + f]} vs ${expected}`);
    }
  }
  assert.equal(featuresOf(basis, embeddings.subarray(0, 0), 0).length, 0);
});
