import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions, roundSpeedups } from '../../bench/compress-step.js';

test('bench:compress-step: the speed-up of a round is the separate path\'s time over the shared one\'s', () => {
  assert.deepEqual(roundSpeedups([2, 4], [3, 4]), [1.5, 1]);
  assert.throws(() => roundSpeedups([2], [3, 4]), /1 shared rounds against 2 separate ones/);
});

test('bench:compress-step: --quick shortens what was not given, and is never recorded', () => {
  assert.deepEqual(resolveOptions({ batches: 2 }), { model: undefined, batches: 2, record: undefined, rounds: 8, stepsPerRound: 2, batchSize: 64 });
  assert.deepEqual(resolveOptions({ quick: true, batches: 2, rounds: 4 }), { model: undefined, batches: 2, record: undefined, rounds: 4, stepsPerRound: 1, batchSize: 16 });
  assert.throws(() => resolveOptions({ quick: true, record: true, batches: 2 }), /--quick is a smoke test, not a measurement to record/);
});
