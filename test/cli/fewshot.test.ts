// hyperclip fewshot as a user runs it: shots from labelled shards, the
// selected descriptions printed, a classifier that hyperclip classify runs;
// bad input explained in one line each (or a stated fallback).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dataRoot } from '../../src/data/datasets.js';
import { cifarImages } from '../deploy/real-images.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const CIFAR10_TEST = path.join(dataRoot(), 'cifar10', 'test-000000.tar.gz');
const CIFAR100_DESCRIPTORS = path.join(dataRoot(), 'descriptors', 'descriptors_cifar100.json');

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function assertOneLineError(result: ReturnType<typeof hyperclip>, expected: string): void {
  assert.equal(result.status, 1, `exit code; stderr: ${result.stderr}`);
  // Progress lines may come first; the error is the last line.
  assert.equal(result.stderr.trimEnd().split('\n').at(-1), `hyperclip: ${expected}`);
}

test('hyperclip fewshot: bad input is one clear line each', () => {
  assertOneLineError(hyperclip('fewshot', '--classes', 'cat,dog,Cat ', '--train', CIFAR10_TEST), '--classes: class "Cat" appears twice: give each class once');
  const noTrain = 'give --train: a folder of class folders (photos/cat/*.jpg) or labelled shards with --classes, to take the shots from (or --dataset cifar10|cifar100)';
  assertOneLineError(hyperclip('fewshot', '--descriptions', 'prompts'), noTrain);
  assertOneLineError(hyperclip('fewshot', '--classes', 'cat,dog'), noTrain);
  assertOneLineError(hyperclip('fewshot', '--classes', 'cat,dog', '--dataset', 'cifar10'), 'give either --classes "cat,dog,..." or --dataset cifar10|cifar100, not both');
  assertOneLineError(hyperclip('fewshot', '--dataset', 'cifar10', '--descriptions', CIFAR100_DESCRIPTORS),
    `class "airplane" has no entry in ${CIFAR100_DESCRIPTORS}: add it, or use --descriptions wordnet or prompts`);
  assertOneLineError(hyperclip('fewshot', '--dataset', 'cifar10', '--shots', '0,2'), 'expected shot counts like 1,2,4,8,16 but received "0,2"');
  // CIFAR-10's test shard holds 1000 airplanes: 1001 shots cannot be drawn.
  assertOneLineError(hyperclip('fewshot', '--classes', 'airplane,automobile', '--train', CIFAR10_TEST, '--descriptions', 'prompts', '--shots', '1001'),
    'class "airplane" has only 1000 usable labelled images in the training data, fewer than the 1001 needed (largest shot count x draws): lower --shots or --draws (skipped 0)');
});

test('hyperclip fewshot writes a classifier that hyperclip classify runs; an unknown WordNet word falls back with a line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-fewshot-'));
  try {
    const output = path.join(dir, 'fewshot.onnx');
    // .cls 0 and 1 of the CIFAR-10 shard are airplanes and automobiles; "qwzxv automobile" tests the WordNet fallback.
    const run = hyperclip('fewshot', '--classes', 'airplane,qwzxv automobile', '--train', CIFAR10_TEST, '--test', CIFAR10_TEST, '--limit', '300',
      '--descriptions', 'wordnet', '--shots', '2,4', '-o', output);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^WordNet has no noun "qwzxv automobile": described as "automobile"$/m);
    assert.match(run.stdout, /^descriptions SLR-AVD selected \(4 shots, draw 0; weight per standardised feature\):$/m);
    assert.match(run.stdout, /^ {2}airplane: /m);
    const summary = run.stdout.trim().split('\n').at(-1)!;
    assert.match(summary, /^fewshot: SLR-AVD 4-shot top-1 \d+\.\d\d% vs zero-shot \d+\.\d\d% \(300 test images, 2 classes, 1 draw\(s\)\); .*fewshot\.onnx \(\d+ descriptions kept, \d+ KB\)$/);

    const image = path.join(dir, 'plane.jpg');
    writeFileSync(image, (await cifarImages(1))[0]!.jpeg);
    const classified = hyperclip('classify', output, image, '--json');
    assert.equal(classified.status, 0, classified.stderr);
    const [result] = JSON.parse(classified.stdout) as { topk: { label: string; probability: number }[] }[];
    assert.deepEqual(result!.topk.map((s) => s.label).sort(), ['airplane', 'qwzxv automobile']);
    assert.ok(Math.abs(result!.topk[0]!.probability + result!.topk[1]!.probability - 1) < 1e-5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
