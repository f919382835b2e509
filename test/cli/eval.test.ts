// hyperclip eval as a user runs it, on the shipped model and real test data:
// the summary is the last line, --json is a document on its own, and bad
// options are one readable line on stderr with a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

test('hyperclip eval: zero-shot table then the top-1 as the last line; --json is parseable as it stands', () => {
  const table = hyperclip('eval', '--dataset', 'cifar10', '--limit', '48');
  assert.equal(table.status, 0, table.stderr);
  assert.match(lastLine(table.stdout), /^cifar10 test zero-shot top-1: \d+\.\d\d% \(48 images, 10 classes\)$/);
  assert.match(table.stdout, /airplane/, 'the per-class table names the classes');

  const json = hyperclip('eval', '--dataset', 'cifar10', '--limit', '48', '--json');
  assert.equal(json.status, 0, json.stderr);
  const result = JSON.parse(json.stdout) as { samples: number; top1: number; top5: number; perClass: { name: string }[] };
  assert.equal(result.samples, 48);
  assert.ok(result.top1 >= 0 && result.top1 <= result.top5 && result.top5 <= 1);
  assert.equal(result.perClass.length, 10);
  assert.match(lastLine(json.stderr), /^cifar10 test zero-shot top-1: \d+\.\d\d% \(48 images, 10 classes\)$/);
  // The same seeded sample: the table and the JSON report the same accuracy.
  assert.equal(lastLine(table.stdout).match(/top-1: ([\d.]+)%/)![1], (100 * result.top1).toFixed(2));
});

test('hyperclip eval: Flickr8k retrieval ends with its recall line', () => {
  const run = hyperclip('eval', '--dataset', 'flickr8k', '--limit', '32');
  assert.equal(run.status, 0, run.stderr);
  assert.match(lastLine(run.stdout), /^flickr8k test retrieval: image->text R@1 \d+\.\d\d%, text->image R@1 \d+\.\d\d% \(32 images, 160 captions\)$/);
});

test('hyperclip eval: bad options are one line on stderr and a non-zero exit', () => {
  const cases: [string[], RegExp][] = [
    [['--dataset', 'my-shards/*.tar'], /my-shards\/\*\.tar: shards need class names for their \.cls indices: give --classnames FILE/],
    [['--dataset', 'cifar10', '--limit', '0'], /--limit/],
    [['--dataset', 'cifar10', '--split', 'nope'], /unknown split "nope"/],
    [['--model', '/no/such/model'], /\/no\/such\/model/],
    [['--dataset', 'cifar10', '--templates', '/no/such/templates.json'], /templates/],
  ];
  for (const [args, message] of cases) {
    const run = hyperclip('eval', ...args);
    assert.notEqual(run.status, 0, `${args.join(' ')} should fail`);
    assert.match(run.stderr, message, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${run.stderr}`);
  }
});
