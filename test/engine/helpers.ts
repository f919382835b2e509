// Shared checks for the engine tests: closeness of values and gradients
// against central finite differences.
import assert from 'node:assert/strict';
import { noGrad, tensor, tidy, type Tensor } from '../../src/engine/index.js';

/** Asserts |actual - expected| <= tol * (1 + |expected|) elementwise, with a readable message. */
export function assertClose(actual: ArrayLike<number | bigint> | number, expected: number[] | number, tol = 1e-6, what = 'value'): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual as ArrayLike<number | bigint>, Number);
  const e = typeof expected === 'number' ? [expected] : expected;
  assert.equal(a.length, e.length, `${what}: got ${a.length} values, expected ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    const x = a[i]!, y = e[i]!;
    const ok = Number.isFinite(y) ? Math.abs(x - y) <= tol * (1 + Math.abs(y)) : Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
    if (!ok) assert.fail(`${what}[${i}]: got ${x}, expected ${y} (tol ${tol}); all: [${a.slice(0, 12).join(', ')}]`);
  }
}

/** Asserts a tensor's shape and values. */
export function assertTensor(t: Tensor, shape: number[], expected: number[], tol = 1e-6, what = 'tensor'): void {
  assert.deepEqual(t.shape, shape, `${what}: shape [${t.shape}], expected [${shape}]`);
  assertClose(t.toArray(), expected, tol, what);
}

export const f64 = (data: number[] | number[][] | number[][][], shape?: number[]): Tensor => tensor(data, shape, { dtype: 'float64' });

/** Deterministic, well-spread float64 values (no ties, no zeros) for gradient checks. */
export function spread(shape: number[], offset = 0, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n }, (_, i) => scale * (Math.sin(1.7 * (i + offset) + 0.3) + 0.05 * (i % 7) + 0.013 * i));
  return tensor(data, shape);
}

export interface GradcheckOptions {
  eps?: number;
  tol?: number;
  /** Allow an all-zero analytic gradient (otherwise it is a failure: it usually means gradients did not flow). */
  allowZero?: boolean;
}

/**
 * Compares the analytic gradient of sum(fn(...inputs) * w) for every float64
 * input with central finite differences; other inputs (indices) are passed through.
 */
export function gradcheck(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): void {
  const eps = options.eps ?? 1e-6;
  const tol = options.tol ?? 1e-5;
  tidy(() => {
    const checked = inputs.map((x) => x.dtype === 'float64');
    const leaves = inputs.map((x, i) => {
      if (!checked[i]) return x;
      const leaf = x.detach().clone();
      leaf.requiresGrad = true;
      return leaf;
    });
    const out = fn(...leaves);
    const w = tensor(Float64Array.from({ length: out.numel }, (_, i) => Math.cos(1.3 * i) + 0.5), out.shape);
    out.mul(w).sum().backward();
    const lossAt = (k: number, values: Float64Array): number => noGrad(() => tidy(() => {
      const xs = leaves.slice();
      xs[k] = tensor(values, inputs[k]!.shape);
      return fn(...xs).mul(w).sum().item();
    }));
    inputs.forEach((x, k) => {
      if (!checked[k]) return;
      const grad = leaves[k]!.grad;
      const analytic = grad === null ? new Array<number>(x.numel).fill(0) : grad.toArray();
      if (!options.allowZero) assert.ok(analytic.some((g) => g !== 0), `${name}: gradient of input ${k} is all zero (did it flow?)`);
      const base = x.data() as Float64Array;
      for (let j = 0; j < base.length; j++) {
        const plus = Float64Array.from(base), minus = Float64Array.from(base);
        plus[j]! += eps;
        minus[j]! -= eps;
        const numeric = (lossAt(k, plus) - lossAt(k, minus)) / (2 * eps);
        const a = analytic[j]!;
        if (!(Math.abs(a - numeric) <= tol * (1 + Math.abs(numeric)))) {
          assert.fail(`${name}: d/d(input ${k})[${j}]: analytic ${a}, finite difference ${numeric}`);
        }
      }
    });
  });
}
