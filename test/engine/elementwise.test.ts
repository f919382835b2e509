// Unary and binary elementwise operations, broadcasting, clamp, where, maskedFill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tensor, type UnaryOp, type BinaryOp } from '../../src/engine/index.js';
import { assertClose, assertTensor, f64 } from './helpers.js';

/** erf: Taylor series near 0, continued fraction for erfc in the tails (double precision). */
function erf(x: number): number {
  if (Math.abs(x) >= 3) {
    const a = Math.abs(x);
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
  }
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const relu6 = (x: number): number => Math.min(Math.max(x, 0), 6);
const softplus = (x: number): number => (x > 20 ? x : Math.log1p(Math.exp(x)));

const REFERENCE: Record<Exclude<UnaryOp, 'logicalNot' | 'round'>, (x: number) => number> = {
  neg: (x) => -x, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, rsqrt: (x) => 1 / Math.sqrt(x), abs: Math.abs,
  sin: Math.sin, cos: Math.cos, relu: (x) => Math.max(x, 0), relu6, silu: (x) => x / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)), tanh: Math.tanh, hardswish: (x) => (x * relu6(x + 3)) / 6,
  hardsigmoid: (x) => relu6(x + 3) / 6, softplus, logSigmoid: (x) => -softplus(-x), sign: Math.sign, floor: Math.floor,
  reciprocal: (x) => 1 / x, erf, square: (x) => x * x, ceil: Math.ceil, log1p: Math.log1p, expm1: Math.expm1,
};

const INPUTS = [-4.2, -3, -1.3, -0.4, 0.7, 1.9, 3.5, 6.5];
const POSITIVE = [0.05, 0.3, 1, 2.7, 9];
const needsPositive = new Set(['log', 'sqrt', 'rsqrt']);

test('every unary op matches its definition (float64)', () => {
  for (const [op, fn] of Object.entries(REFERENCE)) {
    const xs = needsPositive.has(op) ? POSITIVE : INPUTS;
    assertClose(f64(xs).unary(op as UnaryOp).toArray(), xs.map(fn), 1e-12, op);
  }
});

test('unary ops also work in float32, and the shortcuts call the same ops', () => {
  const x = tensor([-1.3, 0.7, 1.9]);
  const shortcuts = ['neg', 'exp', 'abs', 'relu', 'sigmoid', 'tanh', 'silu', 'gelu', 'square'] as const;
  for (const op of shortcuts) {
    const viaShortcut = x[op]();
    assert.equal(viaShortcut.dtype, 'float32');
    assertClose(viaShortcut.toArray(), [-1.3, 0.7, 1.9].map(REFERENCE[op]), 1e-6, op);
  }
  assertClose(tensor([4, 9]).sqrt().toArray(), [2, 3], 0, 'sqrt');
  assertClose(tensor([4, 0.25]).rsqrt().toArray(), [0.5, 2], 1e-7, 'rsqrt');
  assertClose(tensor([Math.E]).log().toArray(), [1], 1e-7, 'log');
  assertClose(F.relu6(tensor([-1, 3, 7])).toArray(), [0, 3, 6], 0, 'F.relu6');
  assertClose(F.hardswish(tensor([-4, 1, 4])).toArray(), [0, 4 / 6, 4], 1e-7, 'F.hardswish');
  assertClose(F.hardsigmoid(tensor([-4, 0, 4])).toArray(), [0, 0.5, 1], 1e-7, 'F.hardsigmoid');
  assertClose(F.softplus(tensor([0])).toArray(), [Math.LN2], 1e-7, 'F.softplus');
  assertClose(F.logSigmoid(tensor([0])).toArray(), [-Math.LN2], 1e-7, 'F.logSigmoid');
});

test('round is half-to-even, logicalNot gives bool, log of 0 is -Infinity', () => {
  assert.deepEqual(tensor([0.5, 1.5, 2.5, -1.5, 2.4]).unary('round').toArray(), [0, 2, 2, -2, 2]);
  const not = tensor([0, 2, -1]).unary('logicalNot');
  assert.equal(not.dtype, 'bool');
  assert.deepEqual(not.toArray(), [1, 0, 0]);
  assert.deepEqual(tensor([0]).log().toArray(), [-Infinity]);
});

const A = [-2.5, -1, 0.5, 3];
const B = [2, -0.5, 0.5, 4];
const BINARY_REF: Record<Exclude<BinaryOp, 'logicalAnd' | 'logicalOr'>, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b, maximum: Math.max, minimum: Math.min,
  pow: (a, b) => a ** b, eq: (a, b) => +(a === b), ne: (a, b) => +(a !== b), lt: (a, b) => +(a < b), le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b), ge: (a, b) => +(a >= b), remainder: (a, b) => a - b * Math.floor(a / b),
};
const COMPARISONS = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

test('every binary op with a tensor on the right', () => {
  for (const [op, fn] of Object.entries(BINARY_REF)) {
    const a = op === 'pow' ? A.map(Math.abs) : A;
    const out = f64(a).binary(op as BinaryOp, f64(B));
    assert.equal(out.dtype, COMPARISONS.has(op) ? 'bool' : 'float64', `${op} dtype`);
    assertClose(out.toArray(), a.map((x, i) => fn(x, B[i]!)), 1e-12, op);
  }
  const p = tensor([1, 0, 1, 0], undefined, { dtype: 'bool' }), q = tensor([1, 1, 0, 0], undefined, { dtype: 'bool' });
  assert.deepEqual(p.binary('logicalAnd', q).toArray(), [1, 0, 0, 0]);
  assert.deepEqual(p.binary('logicalOr', q).toArray(), [1, 1, 1, 0]);
});

test('every binary op with a number on the right', () => {
  for (const [op, fn] of Object.entries(BINARY_REF)) {
    for (const b of [0.5, -2, 3]) {
      const a = op === 'pow' ? A.map(Math.abs) : A;
      const out = f64(a).binary(op as BinaryOp, b);
      assertClose(out.toArray(), a.map((x) => fn(x, b)), 1e-12, `${op} ${b}`);
    }
  }
  assert.throws(() => tensor([1]).binary('logicalAnd', 1), /needs a tensor on the right/);
});

test('remainder takes the sign of the divisor (as Python and PyTorch)', () => {
  assert.deepEqual(tensor([-3, 3, -2.5]).binary('remainder', 2).toArray(), [1, 1, 1.5]);
  assert.deepEqual(tensor([3]).binary('remainder', -2).toArray(), [-1]);
});

test('type promotion: integer with float gives float; integer division is true division', () => {
  const i = tensor([1, 2], undefined, { dtype: 'int64' });
  assert.equal(i.add(1.5).dtype, 'float32');
  assert.deepEqual(i.div(2).toArray(), [0.5, 1]);
  assert.equal(i.add(tensor([1, 1], undefined, { dtype: 'int64' })).dtype, 'int64');
  assert.equal(tensor([1]).add(tensor([1], undefined, { dtype: 'float64' })).dtype, 'float64');
});

test('integer tensors stay integer with integral numbers', () => {
  const i = tensor([1, 2], undefined, { dtype: 'int64' });
  assert.equal(i.add(1).dtype, 'int64');
  assert.equal(i.mul(2).dtype, 'int64');
});

test('broadcasting follows NumPy rules', () => {
  const col = tensor([[1], [2]]); // [2, 1]
  const row = tensor([10, 20, 30]); // [3]
  assertTensor(col.add(row), [2, 3], [11, 21, 31, 12, 22, 32]);
  assertTensor(col.mul(row), [2, 3], [10, 20, 30, 20, 40, 60]);
  assertTensor(tensor([[[1, 2]]]).sub(tensor([[1], [2]])), [1, 2, 2], [0, 1, -1, 0]);
  assertTensor(tensor([1, 2, 3]).gt(tensor(2)), [3], [0, 0, 1]);
});

test('clamp with both bounds, only min, only max', () => {
  const x = tensor([-2, -0.5, 0.5, 2]);
  assertTensor(x.clamp(-1, 1), [4], [-1, -0.5, 0.5, 1]);
  assertTensor(x.clamp(0), [4], [0, 0, 0.5, 2]);
  assertTensor(x.clamp(null, 0), [4], [-2, -0.5, 0, 0]);
});

test('where with tensors, numbers and broadcasting', () => {
  const cond = tensor([1, 0, 1], undefined, { dtype: 'bool' });
  assertTensor(F.where(cond, tensor([1, 2, 3]), tensor([-1, -2, -3])), [3], [1, -2, 3]);
  assertTensor(F.where(cond, 5, tensor([-1, -2, -3])), [3], [5, -2, 5]);
  assertTensor(F.where(cond, tensor([1, 2, 3]), 0), [3], [1, 0, 3]);
  assertTensor(F.where(cond, 1, 0), [3], [1, 0, 1]);
  assertTensor(F.where(tensor([[1], [0]], undefined, { dtype: 'bool' }), tensor([1, 2]), -1), [2, 2], [1, 2, -1, -1]);
});

test('maskedFill fills where the mask is true, with broadcasting', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const causal = tensor([[0, 1, 1], [0, 0, 1]], undefined, { dtype: 'bool' });
  assertTensor(x.maskedFill(causal, -Infinity), [2, 3], [1, -Infinity, -Infinity, 4, 5, -Infinity]);
  assertTensor(x.maskedFill(tensor([1, 0, 0], undefined, { dtype: 'bool' }), 0), [2, 3], [0, 2, 3, 0, 5, 6]);
});
