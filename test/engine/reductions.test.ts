// Reductions with and without dims and keepdim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor } from '../../src/engine/index.js';
import { assertClose, assertTensor, f64 } from './helpers.js';

const X = [[1, 5, 3], [4, 2, 6]]; // [2, 3]

test('sum and mean: all, per dim, several dims, keepdim', () => {
  const x = tensor(X);
  assertTensor(x.sum(), [], [21]);
  assertTensor(x.sum(0), [3], [5, 7, 9]);
  assertTensor(x.sum(1), [2], [9, 12]);
  assertTensor(x.sum(-1, true), [2, 1], [9, 12]);
  assertTensor(x.sum([0, 1]), [], [21]);
  assertTensor(x.mean(), [], [3.5]);
  assertTensor(x.mean(0), [3], [2.5, 3.5, 4.5]);
  assertTensor(x.mean(1, true), [2, 1], [3, 4]);
  assertTensor(tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]).sum([0, 2]), [2], [14, 22]);
});

test('amax and amin', () => {
  const x = tensor(X);
  assertTensor(x.amax(), [], [6]);
  assertTensor(x.amin(), [], [1]);
  assertTensor(x.amax(0), [3], [4, 5, 6]);
  assertTensor(x.amin(1, true), [2, 1], [1, 2]);
  assertTensor(x.amax([0, 1]), [], [6]);
});

test('logsumexp is stable for large values', () => {
  const x = f64([[0, Math.log(3)], [1000, 1000]]);
  assertTensor(x.logsumexp(1), [2], [Math.log(4), 1000 + Math.LN2], 1e-12);
  assertTensor(x.logsumexp(0, true), [1, 2], [1000, 1000], 1e-12);
});

test('argmax and argmin: flat, per dim, keepdim; int64 results', () => {
  const x = tensor(X);
  const flat = x.argmax();
  assert.equal(flat.dtype, 'int64');
  assert.equal(flat.item(), 5);
  assert.equal(x.argmin().item(), 0);
  assertTensor(x.argmax(1), [2], [1, 2]);
  assertTensor(x.argmin(0), [3], [0, 1, 0]);
  assertTensor(x.argmax(0, true), [1, 3], [1, 0, 1]);
});

test('topk: largest and smallest, sorted, along any dim', () => {
  const x = tensor([[1, 9, 3, 7], [8, 2, 6, 4]]);
  const [v, i] = x.topk(2);
  assertTensor(v, [2, 2], [9, 7, 8, 6]);
  assert.equal(i.dtype, 'int64');
  assertTensor(i, [2, 2], [1, 3, 0, 2]);
  const [sv, si] = x.topk(3, 1, false);
  assertTensor(sv, [2, 3], [1, 3, 7, 2, 4, 6]);
  assertTensor(si, [2, 3], [0, 2, 3, 1, 3, 2]);
  const [cv, ci] = x.topk(1, 0);
  assertTensor(cv, [1, 4], [8, 9, 6, 7]);
  assertTensor(ci, [1, 4], [1, 0, 1, 0]);
});

test('norm: L2, L1, Linf, per dim', () => {
  const x = tensor([[3, -4], [0, 1]]);
  assertTensor(x.norm(), [], [Math.sqrt(26)]);
  assertTensor(x.norm(1), [], [8]);
  assertTensor(x.norm(Infinity), [], [4]);
  assertTensor(x.norm(2, 1), [2], [5, 1]);
  assertTensor(x.norm(1, 0, true), [1, 2], [3, 5]);
});

test('var and std: unbiased by default, biased on request, per dim', () => {
  const x = f64([[1, 2, 3, 4], [2, 2, 2, 2]]);
  assertTensor(x.var(1), [2], [5 / 3, 0], 1e-12);
  assertTensor(x.var(1, false), [2], [1.25, 0], 1e-12);
  assertTensor(x.std(1, true, true), [2, 1], [Math.sqrt(5 / 3), 0], 1e-12);
  assertTensor(x.std(1, false), [2], [Math.sqrt(1.25), 0], 1e-12);
  const all = [1, 2, 3, 4, 2, 2, 2, 2];
  const mean = 2.25;
  const ss = all.reduce((s, v) => s + (v - mean) ** 2, 0);
  assertTensor(x.var(), [], [ss / 7], 1e-12);
  assertTensor(x.std(null, false), [], [Math.sqrt(ss / 8)], 1e-12);
  assertTensor(x.var(0), [4], [0.5, 0, 0.5, 2], 1e-12);
});

test('cumsum along each dim', () => {
  const x = tensor(X);
  assertTensor(x.cumsum(1), [2, 3], [1, 6, 9, 4, 6, 12]);
  assertTensor(x.cumsum(0), [2, 3], [1, 5, 3, 5, 7, 9]);
  assertTensor(x.cumsum(-1), [2, 3], [1, 6, 9, 4, 6, 12]);
});

test('prod, all, any over one dim and everything', () => {
  const x = tensor(X);
  assertTensor(x.reduce('prod'), [], [720]);
  assertTensor(x.reduce('prod', 1), [2], [15, 48]);
  const b = tensor([[1, 0], [1, 1]], undefined, { dtype: 'bool' });
  assertTensor(b.reduce('all', 1), [2], [0, 1]);
  assertTensor(b.reduce('any', 0), [2], [1, 1]);
  assertTensor(b.reduce('all'), [], [0]);
  assertTensor(b.reduce('any'), [], [1]);
});

test('prod, all, any over several dims', () => {
  assertTensor(tensor(X).reduce('prod', [0, 1]), [], [720]);
  assertTensor(tensor([[1, 0], [1, 1]], undefined, { dtype: 'bool' }).reduce('all', [0, 1]), [], [0]);
});

test('reductions of an integer tensor', () => {
  const i = tensor([[1, 2], [3, 4]], undefined, { dtype: 'int64' });
  const s = i.sum();
  assert.equal(s.dtype, 'int64');
  assert.equal(s.item(), 10);
  assertClose(i.amax(1).toArray(), [2, 4], 0);
});

test('keepdim is honoured when reducing over every dim', () => {
  const x = tensor(X);
  for (const op of ['sum', 'mean', 'amax', 'amin', 'prod'] as const) assert.deepEqual(x.reduce(op, null, true).shape, [1, 1], op);
  assert.deepEqual(x.norm(2, null, true).shape, [1, 1], 'norm');
});

test('keepdim over every dim for the ops that honour it', () => {
  const x = tensor(X);
  assertTensor(x.amax(null, true), [1, 1], [6]);
  assertTensor(x.amin(null, true), [1, 1], [1]);
  assertTensor(x.argmax(null, true), [1, 1], [5]);
  assertTensor(x.var(null, false, true), [1, 1], [35 / 12]);
});
