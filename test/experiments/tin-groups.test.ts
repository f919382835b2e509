// experiment:groups on bad input: one readable line on stderr and exit code 1,
// before any model or data is read (a real run takes minutes); and where its
// record goes by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelRecordPath, recordName } from '../../experiments/tin-groups.js';
import { projectRoot } from '../../src/project-root.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../experiments/tin-groups.js');
const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-tin-groups-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const experiment = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });

function assertOneLineError(run: ReturnType<typeof experiment>, pattern: RegExp): void {
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, pattern);
}

test('a missing model folder, a file in its place, a missing --model: one line, exit code 1', () => {
  const missing = path.join(root, 'no-such-model');
  assertOneLineError(experiment('--model', missing, '--out', path.join(root, 'g.json')), /^tin-groups: no model folder at .*no-such-model: pass a hyperclip model folder/);
  assertOneLineError(experiment('--model', SCRIPT), /^tin-groups: no model folder at .*tin-groups\.js/);
  assertOneLineError(experiment(), /required option '--model <dir>' not specified/);
});

test('--limit must be a positive integer: one line, exit code 1', () => {
  for (const limit of ['0', '-5', '2.5', 'ten']) {
    assertOneLineError(experiment('--model', 'models/default', '--limit', limit), new RegExp(`expected an integer >= 1 for --limit but received "${limit.replace('.', '\\.')}"`));
  }
});

test('the default record is named after the model folder, or its run folder for a run\'s model/', () => {
  assert.equal(recordName('models/default'), 'default');
  assert.equal(recordName('runs/experiment/mnv2-hyperclip-lit-nodes-s0/model/'), 'mnv2-hyperclip-lit-nodes-s0');
});

test('modelRecordPath: --out as given, else runs/<folder>/<name>[.name-phrases-<mode>].json; a missing folder is one line', () => {
  const model = path.join(projectRoot(), 'models', 'default');
  assert.equal(modelRecordPath(model, 'group names', { folder: 'groups', namePhrases: 'none' }), path.join(projectRoot(), 'runs', 'groups', 'default.json'));
  assert.equal(modelRecordPath(model, 'class names', { folder: 'validation', namePhrases: 'wordnet-imagenet' }),
    path.join(projectRoot(), 'runs', 'validation', 'default.name-phrases-wordnet-imagenet.json'));
  assert.equal(modelRecordPath(model, 'class names', { folder: 'validation', namePhrases: 'wordnet', out: 'x.json' }), 'x.json');
  assert.throws(() => modelRecordPath(path.join(root, 'none'), 'class names', { folder: 'validation', namePhrases: 'none', out: 'x.json' }),
    /^Error: no model folder at .*none: pass a hyperclip model folder/);
});
