// The one percent formatter and markdown table every report uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownTable, percent } from '../../src/eval/format.js';

test('percent prints a fraction as percent with the digits, sign, width and unit asked for', () => {
  assert.equal(percent(0.12345), '12.35');
  assert.equal(percent(0.12345, { digits: 1 }), '12.3');
  assert.equal(percent(0.0084, { sign: true }), '+0.84');
  assert.equal(percent(-0.0268, { sign: true }), '−2.68');
  assert.equal(percent(-0.0268), '-2.68');
  assert.equal(percent(0.05, { width: 6, unit: true }), '  5.00%');
});

test('percent prints no sign on a value that rounds to zero, and a placeholder for a missing one', () => {
  assert.equal(percent(-0.00001, { sign: true }), '+0.00');
  assert.equal(percent(NaN), '—');
  assert.equal(percent(Infinity, { width: 6, unit: true, missing: 'n/a' }), '   n/a');
});

test('markdownTable writes the header, the separator and the rows, and refuses a row of the wrong width', () => {
  assert.deepEqual(markdownTable(['a', 'b'], [[1, 'x']]), ['| a | b |', '|---|---|', '| 1 | x |']);
  assert.throws(() => markdownTable(['a', 'b'], [[1]]), /a table row has 1 cells for 2 columns/);
});
