import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../../src/engine/atomic-write.js';

test('writeJsonAtomic replaces a record with indented JSON ending in a newline and leaves no temporary', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-json-'));
  const file = path.join(dir, 'record.json');
  writeFileSync(file, 'old');
  writeJsonAtomic(file, { top1: 0.5, runs: [1, 2] });
  assert.equal(readFileSync(file, 'utf8'), '{\n  "top1": 0.5,\n  "runs": [\n    1,\n    2\n  ]\n}\n');
  writeJsonAtomic(file, { a: 1 }, 1);
  assert.equal(readFileSync(file, 'utf8'), '{\n "a": 1\n}\n');
  assert.deepEqual(readdirSync(dir), ['record.json']);
});

test('writeJsonAtomic keeps the old record when the value cannot be serialized', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-json-'));
  const file = path.join(dir, 'record.json');
  writeFileSync(file, '{"kept":true}\n');
  assert.throws(() => writeJsonAtomic(file, { big: 1n }), /BigInt/);
  assert.equal(readFileSync(file, 'utf8'), '{"kept":true}\n');
  assert.deepEqual(readdirSync(dir), ['record.json']);
});
