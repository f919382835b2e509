import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeStaleTemporaries } from '../../src/engine/atomic-write.js';

// A pid no process holds: above Linux's pid_max ceiling.
const GONE = 4_194_305;

test('removeStaleTemporaries clears the temporaries of dead writers in a folder and keeps the live ones and other files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-stale-'));
  const names = [`.train-config.json.${GONE}.tmp`, `.checkpoint.safetensors.${GONE}.tmp`, `.metrics.jsonl.${process.pid}.tmp`, 'notes.tmp', 'checkpoint.safetensors'];
  for (const name of names) writeFileSync(path.join(dir, name), 'x');
  assert.equal(removeStaleTemporaries(path.join(dir, 'checkpoint.safetensors'), { onlyFile: true }), 1);
  assert.ok(readdirSync(dir).includes(`.train-config.json.${GONE}.tmp`), 'onlyFile leaves other files\' temporaries');
  assert.equal(removeStaleTemporaries(dir), 1);
  assert.deepEqual(readdirSync(dir).sort(), [`.metrics.jsonl.${process.pid}.tmp`, 'checkpoint.safetensors', 'notes.tmp'].sort());
});
