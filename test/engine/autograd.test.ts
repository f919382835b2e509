// Autograd: requiresGrad, backward, accumulation, retained graphs, noGrad, detach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGradEnabled, noGrad, ones, tensor } from '../../src/engine/index.js';
import { assertClose } from './helpers.js';

const leaf = (values: number[]) => {
  const t = tensor(values);
  t.requiresGrad = true;
  return t;
};

test('requiresGrad is off by default, settable, and propagates to results', () => {
  const a = tensor([1, 2]);
  assert.equal(a.requiresGrad, false);
  assert.equal(a.grad, null);
  const b = leaf([1, 2]);
  assert.equal(b.requiresGrad, true);
  assert.equal(a.mul(b).requiresGrad, true);
  assert.equal(a.mul(2).requiresGrad, false);
});

test('backward of a scalar fills .grad of leaves', () => {
  const x = leaf([1, 2, 3]);
  const y = x.mul(x).sum(); // d/dx = 2x
  y.backward();
  assertClose(x.grad!.toArray(), [2, 4, 6]);
});

test('backward with an explicit gradient for a non-scalar output', () => {
  const x = leaf([1, 2, 3]);
  const y = x.mul(3); // [3]
  y.backward(tensor([1, 0.5, -1]));
  assertClose(x.grad!.toArray(), [3, 1.5, -3]);
  assert.throws(() => x.mul(3).backward(), /scalar loss/);
});

test('gradients accumulate across backward calls until reset', () => {
  const x = leaf([1, -1]);
  x.sum().backward();
  x.mul(2).sum().backward();
  assertClose(x.grad!.toArray(), [3, 3]);
  x.grad = null;
  assert.equal(x.grad, null);
  x.mul(5).sum().backward();
  assertClose(x.grad!.toArray(), [5, 5]);
  x.grad = tensor([0.5, 0.5]);
  assertClose(x.grad!.toArray(), [0.5, 0.5]);
});

test('retainGraph allows a second backward through the same graph', () => {
  const x = leaf([2]);
  const y = x.mul(x).mul(x).sum(); // dy/dx = 3x^2 = 12
  y.backward(undefined, true);
  y.backward();
  assertClose(x.grad!.toArray(), [24]);
  const z = x.exp().sum();
  z.backward();
  assert.throws(() => z.backward(), /backward through the graph a second time|already been freed/);
});

test('noGrad records nothing, restores the previous mode, even on error', () => {
  const x = leaf([1, 2]);
  assert.equal(isGradEnabled(), true);
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    return x.mul(2);
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true);
  noGrad(() => noGrad(() => 0));
  assert.equal(isGradEnabled(), true, 'nested scopes restore the outer mode');
});

test('detach cuts the graph and shares data', () => {
  const x = leaf([1, 2]);
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  const y = x.mul(d).sum(); // only one factor is differentiated: dy/dx = d
  y.backward();
  assertClose(x.grad!.toArray(), [1, 2]);
  x.fill_(7);
  assertClose(d.toArray(), [7, 7], 0, 'detach is a view, not a copy');
});

test('gradients flow through a chain into a leaf used twice', () => {
  const w = leaf([0.5, -1]);
  const x = ones([3, 2]);
  const h = x.mul(w).tanh(); // [3, 2]
  const loss = h.add(w).sum(); // w broadcasts over 3 rows
  loss.backward();
  const expected = [0.5, -1].map((v) => 3 * (1 - Math.tanh(v) ** 2) + 3);
  assertClose(w.grad!.toArray(), expected, 1e-6);
});

test('non-leaf tensors get no .grad; integer tensors cannot require grad', () => {
  const x = leaf([1, 2]);
  const y = x.mul(2);
  y.sum().backward();
  assert.equal(y.grad, null);
  assert.throws(() => { tensor([1], undefined, { dtype: 'int64' }).requiresGrad = true; }, /floating point|complex/);
});
