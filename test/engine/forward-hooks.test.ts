// Module forward hooks and pre-hooks (Wanda's calibration reads layer inputs
// through them): they see inputs and outputs and leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, noGrad, randn, zeros, type Tensor } from '../../src/engine/index.js';

test('Module.registerForwardHook sees inputs and output, and removing it restores the plain forward', () => {
  const fc = new Linear(4, 2);
  const seen: number[][] = [];
  const remove = fc.registerForwardHook((_m, inputs, output) => seen.push([(inputs[0] as Tensor).size(0), (output as Tensor).size(1)]));
  fc.forward(randn([3, 4]));
  remove();
  fc.forward(randn([5, 4]));
  assert.deepEqual(seen, [[3, 2]]);
  assert.ok(!Object.prototype.hasOwnProperty.call(fc, 'forward'), 'no wrapper left behind');
  assert.deepEqual([...fc.namedParameters()].map(([n]) => n), ['weight', 'bias'], 'hooks add no parameters');
});

test('Module.registerForwardPreHook runs before the forward (a change it makes is seen by the forward) and is removed on its own', () => {
  const fc = new Linear(4, 2);
  const events: string[] = [];
  const removePre = fc.registerForwardPreHook((m) => { events.push('pre'); noGrad(() => (m as Linear).weight.copy_(zeros([2, 4]))); });
  const removePost = fc.registerForwardHook((_m, _inputs, output) => events.push(`post ${(output as Tensor).sub(fc.bias!).abs().amax().item()}`));
  fc.forward(randn([3, 4]));
  removePre();
  assert.ok(Object.prototype.hasOwnProperty.call(fc, 'forward'), 'the other hook still wraps the forward');
  fc.forward(randn([3, 4]));
  removePost();
  assert.deepEqual(events, ['pre', 'post 0', 'post 0']);
  assert.ok(!Object.prototype.hasOwnProperty.call(fc, 'forward'), 'no wrapper left behind');
});
