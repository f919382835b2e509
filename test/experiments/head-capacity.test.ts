// experiment:head-capacity refuses a python without torch before it reads any
// image: one line on stderr, exit code 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../experiments/head-capacity.js');

test('a python without torch is one readable line and exit code 1', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--python', '/nonexistent/python3'], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /\/nonexistent\/python3 cannot import torch: install Debian's python3-torch \(bash scripts\/setup\.sh\) or pass --python PATH/);
});
