// experiment:text-targets on the shipped model and a few of its real training
// images: the tuned folder loads, only its text encoder changed, the record
// holds the fit and the tuning, and bad input is one line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../../src/bundle/bundle.js';
import { CHECKPOINT_FILE } from '../../experiments/text-targets.js';
import { maxAbsDiff } from '../models/helpers.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'experiments/text-targets.js');
const MODEL = path.join(ROOT, '../models/default');
const SMALL = ['--images', '20', '--fit-steps', '5', '--steps', '3', '--classes', '8', '--captions', '4', '--templates', '1', '--threads', '1', '--lr', '1e-3'];

test('a small distill run writes a tuned model whose text encoder alone moved, and its record', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'text-targets-'));
  try {
    const out = path.join(dir, 'probe', 'model'), record = path.join(dir, 'record.json');
    const run = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '-o', out, '--record', record, ...SMALL, '--objective', 'distill', '--images-per-step', '8', '--keep-nodes', '1'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout.trim().split('\n').at(-1)!, /^text-targets: 3 steps in \d+ s; head agreement on 2 kept-back images: model text [\d.]+% -> tuned [\d.]+% \(fitted vectors [\d.]+%\); model /);
    const r = JSON.parse(readFileSync(record, 'utf8'));
    assert.deepEqual(r.images, { fit: 18, keptBack: 2 });
    assert.ok(r.classes > 900 && r.classes < 1000, 'ImageNet without the held-out synsets');
    assert.ok(r.fit.loss < r.fit.initialLoss);
    assert.equal(r.targetClasses, r.classes, 'no --min-mass: every class is a target');
    assert.equal(r.evidence.reduce((n: number, b: { classes: number }) => n + b.classes, 0), r.classes, 'every class in one evidence bin');
    assert.equal(r.tuning.history.at(-1).step, 3);
    assert.equal(r.tuning.objective, 'distill');
    assert.ok(r.keptNodePrompts > 100, `${r.keptNodePrompts} node prompts kept`);
    assert.equal(r.tuning.scale, r.fit.scale, 'the distillation runs at the fitted scale');
    assert.ok(r.tuning.history.every((h: { distillLoss: number }) => h.distillLoss > 0));
    assert.ok(r.agreementWithHead.after.imageCosineToBefore > 0.9);
    const before = loadBundle(MODEL), after = loadBundle(out);
    try {
      assert.equal(after.extra.recipe, before.extra.recipe);
      assert.equal((after.extra.textTargets as { steps: number }).steps, 3);
      const named = (b: typeof before) => new Map(b.model.namedParameters());
      const [a, b] = [named(before), named(after)];
      const moved = [...a].filter(([name, t]) => maxAbsDiff(t, b.get(name)!) > 0).map(([name]) => name);
      assert.ok(moved.length > 0, 'the text encoder trained');
      for (const name of moved) assert.match(name, /^textEncoder\./);
      assert.ok(!moved.some((n) => n.startsWith('textEncoder.tokenEmbedding')), 'word embeddings stay frozen');
    } finally {
      before.model.dispose(); after.model.dispose();
    }
    const again = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '-o', out, ...SMALL], { encoding: 'utf8' });
    assert.notEqual(again.status, 0);
    assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
    assert.match(again.stderr, /already holds a model; name a new folder with -o/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a --min-mass that leaves fewer targets than a step draws is one readable line', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '-o', path.join(tmpdir(), 'never-written-mass'), ...SMALL, '--min-mass', '1000'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.equal(run.stderr.split('\n').filter((l) => l.startsWith('text-targets:')).length, 1, run.stderr);
  assert.match(run.stderr, /--min-mass 1000 leaves \d+ target classes, fewer than --classes 8/);
});

test('an unknown objective is one readable line', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '-o', path.join(tmpdir(), 'never-written-objective'), '--objective', 'mse'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /--objective <name>' argument 'mse' is invalid. Allowed choices are cosine, distill/);
});

test('options that cannot take effect are refused in one line', () => {
  for (const [extra, message] of [
    [['--scale', '50'], /--scale applies to --objective distill only/],
    [['--images-per-step', '8'], /--images-per-step applies to --objective distill only/],
    [['--captions', '0', '--keep-nodes', '2'], /--keep-nodes needs --captions above 0/],
  ] as const) {
    const run = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '-o', path.join(tmpdir(), 'never-written-options'), ...extra], { encoding: 'utf8' });
    assert.notEqual(run.status, 0);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, message);
  }
});

test('a model folder that is not on a pretrained tower is one readable line', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--model', path.join(ROOT, '../no-such-model'), '-o', path.join(tmpdir(), 'never-written')], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /no model folder at/);
});

test('a run killed after a checkpoint resumes from it when the command is run again; other settings are refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'text-targets-resume-'));
  try {
    const out = path.join(dir, 'probe', 'model'), record = path.join(dir, 'record.json');
    // A repeated option takes its last value: 4 steps.
    const args = [SCRIPT, '--model', MODEL, '-o', out, '--record', record, ...SMALL, '--steps', '4', '--checkpoint-every', '2'];
    // Killed right after the step-2 checkpoint: what follows (steps 3-4, the 960-class classifier, the save) takes seconds.
    const killed = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const exited = await new Promise<NodeJS.Signals | null>((resolve) => {
      killed.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('checkpoint after step 2')) killed.kill('SIGKILL');
      });
      killed.on('exit', (_code, signal) => resolve(signal));
    });
    assert.equal(exited, 'SIGKILL', log);
    assert.ok(existsSync(path.join(out, CHECKPOINT_FILE)) && !existsSync(path.join(out, 'config.json')));

    const other = spawnSync(process.execPath, [...args, '--lr', '2e-3'], { encoding: 'utf8' });
    assert.notEqual(other.status, 0);
    assert.equal(other.stderr.trim().split('\n').length, 1, other.stderr);
    assert.match(other.stderr, /was written with other settings .*: rerun that command to resume it, or remove the folder to start again/);

    const resumed = spawnSync(process.execPath, [...args, '--threads', '2'], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming after step 2 of 4/);
    assert.match(resumed.stdout, /^text-targets: 2 steps \(resumed after step 2\) in \d+ s;/m);
    const r = JSON.parse(readFileSync(record, 'utf8'));
    assert.deepEqual(r.tuning.history.map((h: { step: number }) => h.step), [1, 2, 3, 4], 'the record holds the killed run\'s steps too');
    assert.equal(r.tuning.resumedAfter, 2);
    assert.ok(!existsSync(path.join(out, CHECKPOINT_FILE)), 'the checkpoint goes once the model is written');
    loadBundle(out).model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
