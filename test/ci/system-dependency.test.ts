// Under CI=true a test that would skip for a missing system dependency fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dependencyPresent, skipWithout } from './system-dependency.js';

test('off CI a missing dependency is a skip with its reason', () => {
  assert.equal(skipWithout(false, 'no torch', {}), 'no torch');
  assert.equal(dependencyPresent(false, 'no torch', {}), false);
  assert.equal(skipWithout(true, 'no torch', {}), false);
  assert.equal(dependencyPresent(true, 'no torch', {}), true);
});

test('under CI=true a missing dependency is not skipped: the check throws its reason', () => {
  for (const CI of ['true', '1']) {
    assert.equal(skipWithout(false, 'no torch', { CI }), false);
    assert.throws(() => dependencyPresent(false, 'no torch', { CI }), /^Error: no torch \(CI=true: a missing system dependency fails the run instead of skipping the test\)$/);
    assert.equal(dependencyPresent(true, 'no torch', { CI }), true);
  }
});
