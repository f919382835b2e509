// Gradient-ready hooks (src/engine/grad-hooks.ts): called inside backward,
// once per leaf per backward, with the leaf's gradient already accumulated;
// removable (also from inside a hook); a throwing hook fails backward with
// its message and leaves the process and later backwards fine; removal
// releases the native memory the hook held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveGradHookCount, liveTensorCount, mallocStats, onGradReady, tensor, tidy, zeros, type Tensor } from '../../src/engine/index.js';
import { assertClose } from './helpers.js';

function leaf(values: number[]): Tensor {
  const t = tensor(values);
  t.requiresGrad = true;
  return t;
}

/** loss = sum(w * x) + sum(w * v) + sum(v^2): w is used twice, v twice. */
function backward(w: Tensor, v: Tensor, x: number[]): void {
  tidy(() => w.mul(tensor(x)).sum().add(w.mul(v).sum()).add(v.mul(v).sum()).backward());
}

test('a hook runs inside backward, once per leaf per backward, with the gradient already accumulated', () => {
  const w = leaf([1, 2]), v = leaf([3, 4]);
  const seen: string[] = [];
  const gradAtHook: number[][] = [];
  const hooks = [
    onGradReady(w, () => { seen.push('w'); gradAtHook.push(tidy(() => [...(w.grad!.data() as Float32Array)])); }),
    onGradReady(v, () => { seen.push('v'); }),
  ];
  backward(w, v, [10, 20]);
  seen.push('returned');
  // dloss/dw = x + v, dloss/dv = w + 2v
  assert.deepEqual(seen.slice().sort(), ['returned', 'v', 'w']);
  assert.equal(seen.at(-1), 'returned', 'both hooks ran before backward returned (synchronously, on this thread)');
  assertClose(gradAtHook[0]!, [13, 24], 1e-6, 'w.grad seen by its hook');
  backward(w, v, [10, 20]);
  assert.deepEqual(seen.filter((s) => s === 'w').length, 2, 'one call per backward');
  assertClose(gradAtHook[1]!, [26, 48], 1e-6, 'the accumulated gradient after a second backward');
  hooks.forEach((h) => h.remove());
  assert.equal(liveGradHookCount(), 0);
});

test('a removed hook is not called again; removing twice, or from inside the hook, is harmless', () => {
  const w = leaf([1, 2]), v = leaf([3, 4]);
  let calls = 0, selfRemoving = 0;
  const hook = onGradReady(w, () => { calls++; });
  const once = onGradReady(v, () => { selfRemoving++; once.remove(); });
  backward(w, v, [1, 1]);
  assert.equal(calls, 1);
  hook.remove();
  hook.remove();
  assert.equal(hook.removed, true);
  backward(w, v, [1, 1]);
  backward(w, v, [1, 1]);
  assert.equal(calls, 1, 'a removed hook ran');
  assert.equal(selfRemoving, 1, 'a hook that removed itself ran again');
  assertClose(w.grad!.data() as Float32Array, [12, 15], 1e-6, 'gradients still accumulate without hooks');
  assert.equal(liveGradHookCount(), 0);
});

test('a throwing hook fails backward with one clear error; the process and later backwards are fine', () => {
  const w = leaf([1, 2]), v = leaf([3, 4]);
  const hook = onGradReady(w, () => { throw new Error('bucket 3 is full'); });
  assert.throws(() => backward(w, v, [1, 1]), /a gradient-ready hook threw: bucket 3 is full/);
  hook.remove();
  w.grad = null;
  v.grad = null;
  let calls = 0;
  const next = onGradReady(w, () => { calls++; });
  backward(w, v, [1, 1]);
  assert.equal(calls, 1);
  assertClose(w.grad!.data() as Float32Array, [4, 5], 1e-6, 'w.grad after the failed backward');
  next.remove();
});

test('hooks need a tensor that requires grad and was made by no op', () => {
  assert.throws(() => onGradReady(tensor([1]), () => undefined), /a gradient-ready hook needs a tensor that requires grad/);
  const w = leaf([1, 2]);
  const made = tidy(() => w.mul(2));
  assert.throws(() => onGradReady(made, () => undefined), /a gradient-ready hook needs a leaf tensor that requires grad/);
  made.dispose();
  assert.equal(liveGradHookCount(), 0);
});

test('hooks hold the leaf until removed, then release it; steps with hooks leave no tensors behind', () => {
  const values = 1 << 22; // 16 MB of float32: far above the allocator's noise
  const before = mallocStats().inUse;
  const big = zeros([values]);
  big.requiresGrad = true;
  const hook = onGradReady(big, () => undefined);
  big.dispose();
  const held = mallocStats().inUse - before;
  hook.remove();
  const released = mallocStats().inUse - before;
  assert.ok(held > 15e6, `the hook's accumulator should keep the 16 MB leaf alive, held ${held} bytes`);
  assert.ok(released < 1e6, `removing the hook should free the leaf, ${released} bytes still in use`);

  const w = leaf([1, 2]), v = leaf([3, 4]);
  const hooks = [w, v].map((p) => onGradReady(p, () => { tidy(() => p.grad!.mul(2)); }));
  backward(w, v, [1, 1]);
  const live = liveTensorCount();
  for (let step = 0; step < 20; step++) backward(w, v, [1, 1]);
  assert.equal(liveTensorCount(), live, 'tensors made in hooks outlived their steps');
  hooks.forEach((h) => h.remove());
});
