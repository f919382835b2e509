// Initialisers, in-place updates and process-wide settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getNumThreads, init, libtorchVersion, manualSeed, ones, setNumThreads, tensor, zeros } from '../../src/engine/index.js';
import { assertClose } from './helpers.js';

test('initialisers fill in place with the documented distributions', () => {
  manualSeed(21);
  const w = zeros([256, 128]);
  assert.equal(init.normal_(w, 1, 0.5), w, 'returns the same tensor');
  assertClose(w.mean().item(), 1, 0.01);
  assertClose(w.std().item(), 0.5, 0.02);
  init.uniform_(w, -2, 2);
  assert.ok(w.amin().item() >= -2 && w.amax().item() <= 2);
  assertClose(w.var().item(), 16 / 12, 0.03);
  init.truncNormal_(w, 0.02);
  assert.ok(w.abs().amax().item() <= 0.04 + 1e-7);
  init.kaimingNormal_(w, 'fanIn');
  assertClose(w.std().item(), Math.SQRT2 / Math.sqrt(128), 0.03);
  init.kaimingNormal_(w); // fan out by default
  assertClose(w.std().item(), Math.SQRT2 / Math.sqrt(256), 0.03);
  init.xavierUniform_(w);
  const bound = Math.sqrt(6 / (128 + 256));
  assert.ok(w.abs().amax().item() <= bound && w.abs().amax().item() > 0.95 * bound);
  const conv = zeros([8, 4, 3, 3]);
  init.kaimingUniformDefault_(conv);
  assert.ok(conv.abs().amax().item() <= 1 / Math.sqrt(36));
  assert.deepEqual(init.constant_(zeros([2]), 3).toArray(), [3, 3]);
  assert.deepEqual(init.ones_(zeros([2])).toArray(), [1, 1]);
  assert.deepEqual(init.zeros_(ones([2])).toArray(), [0, 0]);
  assert.throws(() => init.xavierUniform_(zeros([3])), /at least 2 dimensions/);
});

test('initialisers work on parameters that require grad and record no history', () => {
  const p = zeros([4, 4]);
  p.requiresGrad = true;
  init.normal_(p);
  p.sum().backward();
  assert.deepEqual(p.grad!.toArray(), new Array(16).fill(1), 'p is still a leaf');
});

test('in-place updates: copy_, fill_, mul_, add_ with alpha', () => {
  const t = tensor([1, 2]);
  assert.equal(t.copy_(tensor([5, 6])), t);
  assert.deepEqual(t.toArray(), [5, 6]);
  t.mul_(2);
  assert.deepEqual(t.toArray(), [10, 12]);
  t.add_(tensor([1, 1]), -3);
  assert.deepEqual(t.toArray(), [7, 9]);
  t.fill_(0.5);
  assert.deepEqual(t.toArray(), [0.5, 0.5]);
  assert.throws(() => t.copy_(tensor([1, 2, 3])), /copy: shape \[3\] does not match \[2\]/);
});

test('thread count is settable and libtorch reports its version', () => {
  const before = getNumThreads();
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  setNumThreads(before);
  assert.equal(getNumThreads(), before);
  assert.match(libtorchVersion(), /^\d+\.\d+\.\d+$/);
});
