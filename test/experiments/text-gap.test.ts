// experiment:text-gap on the shipped model and a few real Tiny ImageNet
// images: the record holds every fit, the fits lower their loss from the
// model's own class embeddings, and bad input is one line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'experiments/text-gap.js');
const MODEL = path.join(ROOT, '../models/default');

test('a small run writes one fit per temperature plus the fitted scale, each below its starting loss', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'text-gap-'));
  try {
    const out = path.join(dir, 'record.json');
    const run = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '--fit', '20', '--val', '20', '--steps', '15', '--threads', '1', '--temperatures', '1,4', '--scales', '40', '--out', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout.trim().split('\n').at(-1)!, /^text-gap: 20 Tiny ImageNet val images, \d+ classes: model [\d.]+%, best fitted vectors [\d.]+%, head [\d.]+%; record /);
    const record = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(record.fitImages, 20);
    assert.equal(record.valImages, 20);
    assert.deepEqual(record.fits.map((f: { temperature: number }) => f.temperature), [1, 4, 1, 1]);
    for (const fit of record.fits) {
      assert.ok(fit.fitLoss < fit.initialLoss, `${fit.name}: ${fit.fitLoss} after the fit, ${fit.initialLoss} before`);
      for (const share of Object.values(fit.top1) as number[]) assert.ok(share >= 0 && share <= 1);
      assert.ok(fit.textToFittedCosine.all > -1 && fit.textToFittedCosine.all <= 1);
    }
    // float32 against float64: the same scale to about 1e-7 relative
    assert.ok(Math.abs(record.fits[0].scale - record.modelScale) < 1e-4, 'the first fits keep the model\'s scale');
    assert.ok(Math.abs(record.fits[2].scale - 40) < 1e-4, 'a fixed scale stays');
    assert.ok(Math.abs(record.fits[3].scale - record.modelScale) > 1e-3, 'the last fit learns its scale');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad temperature list is one readable line and a non-zero exit', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--model', MODEL, '--temperatures', '1,-2'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /--temperatures takes numbers in \(0, 1000\]/);
});
