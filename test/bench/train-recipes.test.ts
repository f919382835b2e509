// bench:train --recipes: a wrong pair is refused from the recipes' configs
// alone, in one line, before any model, pretrained file or data is read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli, pairKind, recipePair } from '../../bench/train.js';

const BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bench/train.js');

const parse = (...args: string[]) => cli().exitOverride().configureOutput({ writeErr: () => undefined }).parse(args, { from: 'user' }).opts();

test('the default pair is tiny-hyperclip against tiny-siglip; --recipes and --batch-size are taken as given', () => {
  assert.deepEqual(parse('--quick').recipes, ['tiny-hyperclip', 'tiny-siglip']);
  const opts = parse('--recipes', 'mnv1-025-hyperclip-lit,mnv1-025-siglip-lit', '--batch-size', '16');
  assert.deepEqual(opts.recipes, ['mnv1-025-hyperclip-lit', 'mnv1-025-siglip-lit']);
  assert.equal(opts.batchSize, '16');
  assert.deepEqual(recipePair('mnv2-hyperclip-lit, mnv2-siglip-lit'), ['mnv2-hyperclip-lit', 'mnv2-siglip-lit']);
  assert.equal(pairKind(['mnv2-hyperclip-lit', 'mnv2-siglip-lit']), 'twin');
});

test('two HyperCLIP recipes on the same data are a lever pair, at any image size', () => {
  assert.deepEqual(recipePair('mnv2-hyperclip-lit-px96,mnv2-hyperclip-lit'), ['mnv2-hyperclip-lit-px96', 'mnv2-hyperclip-lit']);
  assert.equal(pairKind(['mnv2-hyperclip-lit-px96', 'mnv2-hyperclip-lit']), 'lever');
  assert.equal(pairKind(['mnv2-hyperclip-lit-last5', 'mnv2-hyperclip-lit']), 'lever');
  assert.throws(() => recipePair('mnv2-hyperclip-lit,mnv2-hyperclip-lit'), /mnv2-hyperclip-lit is named twice/);
});

test('unknown recipes, the wrong order, another image size or other data are refused with the reason', () => {
  assert.throws(() => recipePair('tiny-hyperclip'), /give two recipes, a HyperCLIP one then its SigLIP baseline or another HyperCLIP recipe/);
  assert.throws(() => recipePair('tiny-hyperclip,tiny-siglip,test-tiny'), /give two recipes/);
  assert.throws(() => recipePair('nope,tiny-siglip'), /unknown recipe "nope"; known: tiny-hyperclip, /);
  assert.throws(() => recipePair('tiny-siglip,tiny-hyperclip'), /tiny-siglip has no hypernetwork: name a HyperCLIP recipe first/);
  assert.throws(() => recipePair('tiny-hyperclip,tiny-hyperclip-c100'), /tiny-hyperclip and tiny-hyperclip-c100 train on different data/);
  assert.throws(() => recipePair('mnv2-hyperclip-lit,mnv1-025-siglip-lit'), /mnv2-hyperclip-lit trains at 160 px and mnv1-025-siglip-lit at 128 px: against a SigLIP baseline/);
  assert.throws(() => recipePair('tiny-hyperclip,tiny-siglip-c100'), /tiny-hyperclip and tiny-siglip-c100 train on different data/);
});

test('the bench exits 1 with one error line and prints nothing else', () => {
  const run = spawnSync(process.execPath, [BENCH, '--quick', '--recipes', 'mnv1-025-siglip-lit,mnv1-025-hyperclip-lit'], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  assert.deepEqual(run.stderr.trim().split('\n'), [
    "error: option '--recipes <first,second>' argument 'mnv1-025-siglip-lit,mnv1-025-hyperclip-lit' is invalid. " +
    'mnv1-025-siglip-lit has no hypernetwork: name a HyperCLIP recipe first, then its SigLIP baseline or another HyperCLIP recipe',
  ]);
});

test('--phases and --batches are taken; --batches must be a positive integer', () => {
  const opts = parse('--phases', '--batches', '4');
  assert.equal(opts.phases, true);
  assert.equal(opts.batches, 4);
  assert.throws(() => parse('--batches', '0'), /expected an integer .* for --batches but received "0"/);
});

test('--record with --compare is refused: nothing would be recorded', () => {
  const run = spawnSync(process.execPath, [BENCH, '--compare', '-2,-1', '--record'], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /--compare runs no benchmark, so --record cannot take effect/);
});
