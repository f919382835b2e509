// The thread waits the engine asks libgomp and OpenBLAS for: set before the
// addon loads unless the environment names its own, inherited by children,
// and HYPERCLIP_THREAD_WAITS=library leaves the libraries' defaults.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { applyThreadWaitDefaults, THREAD_WAIT_DEFAULTS } from '../../src/engine/thread-waits.js';

test('unset waits become passive; a value the user set is kept', () => {
  const env: NodeJS.ProcessEnv = { OPENBLAS_THREAD_TIMEOUT: '28' };
  assert.deepEqual(applyThreadWaitDefaults(env), ['OMP_WAIT_POLICY']);
  assert.equal(env.OMP_WAIT_POLICY, THREAD_WAIT_DEFAULTS.OMP_WAIT_POLICY);
  assert.equal(env.OPENBLAS_THREAD_TIMEOUT, '28');
  assert.deepEqual(applyThreadWaitDefaults(env), []);
});

test('HYPERCLIP_THREAD_WAITS=library sets nothing; another value is refused in one line', () => {
  const env: NodeJS.ProcessEnv = { HYPERCLIP_THREAD_WAITS: 'library' };
  assert.deepEqual(applyThreadWaitDefaults(env), []);
  assert.equal(env.OMP_WAIT_POLICY, undefined);
  assert.throws(() => applyThreadWaitDefaults({ HYPERCLIP_THREAD_WAITS: 'spin' }), /HYPERCLIP_THREAD_WAITS must be "passive" .* or "library" .*, got "spin"/);
});

test('loading the engine sets the waits before the addon, and a child process inherits them', () => {
  const script = `
    const { setNumThreads } = await import(${JSON.stringify(new URL('../../src/engine/index.js', import.meta.url).href)});
    setNumThreads(1);
    const { execFileSync } = await import('node:child_process');
    process.stdout.write(execFileSync('sh', ['-c', 'echo "$OMP_WAIT_POLICY $OPENBLAS_THREAD_TIMEOUT"']).toString());`;
  const env = { ...process.env };
  delete env.OMP_WAIT_POLICY;
  delete env.OPENBLAS_THREAD_TIMEOUT;
  delete env.HYPERCLIP_THREAD_WAITS;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), `${THREAD_WAIT_DEFAULTS.OMP_WAIT_POLICY} ${THREAD_WAIT_DEFAULTS.OPENBLAS_THREAD_TIMEOUT}`);
});
