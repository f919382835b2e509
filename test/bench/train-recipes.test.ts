// bench:train --recipes: a wrong pair is refused from the recipes' configs
// alone, in one line, before any model, pretrained file or data is read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli, recipePair } from '../../bench/train.js';

const BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bench/train.js');

const parse = (...args: string[]) => cli().exitOverride().configureOutput({ writeErr: () => undefined }).parse(args, { from: 'user' }).opts();

test('the default pair is tiny-hyperclip against tiny-siglip; --recipes and --batch-size are taken as given', () => {
  assert.deepEqual(parse('--quick').recipes, ['tiny-hyperclip', 'tiny-siglip']);
  const opts = parse('--recipes', 'mnv1-025-hyperclip-lit,mnv1-025-siglip-lit', '--batch-size', '16');
  assert.deepEqual(opts.recipes, ['mnv1-025-hyperclip-lit', 'mnv1-025-siglip-lit']);
  assert.equal(opts.batchSize, '16');
  assert.deepEqual(recipePair('mnv2-hyperclip-lit, mnv2-siglip-lit'), ['mnv2-hyperclip-lit', 'mnv2-siglip-lit']);
});

test('unknown recipes, the wrong order, another image size or other data are refused with the reason', () => {
  assert.throws(() => recipePair('tiny-hyperclip'), /give two recipes, the HyperCLIP one then its SigLIP baseline/);
  assert.throws(() => recipePair('tiny-hyperclip,tiny-siglip,test-tiny'), /give two recipes/);
  assert.throws(() => recipePair('nope,tiny-siglip'), /unknown recipe "nope"; known: tiny-hyperclip, /);
  assert.throws(() => recipePair('tiny-siglip,tiny-hyperclip'), /tiny-siglip has no hypernetwork: name the HyperCLIP recipe first/);
  assert.throws(() => recipePair('tiny-hyperclip,tiny-hyperclip-c100'), /tiny-hyperclip-c100 has a hypernetwork: the second recipe is the SigLIP baseline/);
  assert.throws(() => recipePair('mnv2-hyperclip-lit,mnv1-025-siglip-lit'), /mnv2-hyperclip-lit trains at 160 px and mnv1-025-siglip-lit at 128 px/);
  assert.throws(() => recipePair('tiny-hyperclip,tiny-siglip-c100'), /tiny-hyperclip and tiny-siglip-c100 train on different data/);
});

test('the bench exits 1 with one error line and prints nothing else', () => {
  const run = spawnSync(process.execPath, [BENCH, '--quick', '--recipes', 'mnv1-025-siglip-lit,mnv1-025-hyperclip-lit'], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  assert.deepEqual(run.stderr.trim().split('\n'), [
    "error: option '--recipes <hyper,siglip>' argument 'mnv1-025-siglip-lit,mnv1-025-hyperclip-lit' is invalid. " +
    'mnv1-025-siglip-lit has no hypernetwork: name the HyperCLIP recipe first, then its SigLIP baseline',
  ]);
});

test('--phases and --batches are taken; --batches must be a positive integer', () => {
  const opts = parse('--phases', '--batches', '4');
  assert.equal(opts.phases, true);
  assert.equal(opts.batches, 4);
  assert.throws(() => parse('--batches', '0'), /expected an integer .* for --batches but received "0"/);
});
