// The README's "Your own data" commands as a user runs them, on folders and a
// CSV made here from real CIFAR-10 and Flickr8k images with the shipped
// model: eval on class folders, fewshot --train/--test folders, shards, and
// one line on stderr for what cannot be read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../data/fixtures.js';
import { photoFolder, quoted, realImages } from '../data/own-data-fixtures.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

function assertOneLineError(run: ReturnType<typeof hyperclip>, message: RegExp): void {
  assert.equal(run.status, 1, `exit code; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, message);
}

let dir = '';
let photos = '', photosTest = '';

before(async () => {
  dir = tempDir();
  photos = path.join(dir, 'photos');
  photosTest = path.join(dir, 'photos-test');
  await photoFolder(photos, 6);
  await photoFolder(photosTest, 6, 24);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('hyperclip eval --dataset photos/: classes from the folder names, bad files counted in the summary; its shards score the same', () => {
  const run = hyperclip('eval', '--dataset', photos);
  assert.equal(run.status, 0, run.stderr);
  const summary = lastLine(run.stdout);
  assert.match(summary, /photos zero-shot top-1: \d+\.\d\d% \(24 images, 4 classes; skipped 3: .*corrupt_image 1/);
  for (const name of ['café', 'dog breed', 'Äpfel', '猫']) assert.ok(run.stdout.includes(name), `the per-class table names ${name}`);

  const shards = path.join(dir, 'photo-shards');
  const written = hyperclip('shards', photos, '-o', shards, '--seed', '1');
  assert.equal(written.status, 0, written.stderr);
  assert.match(lastLine(written.stdout), /^wrote 24 samples, 4 classes to 1 shard\(s\) in \S+photo-shards \(shard-000000\.tar, [\d.]+ MB, seed 1\) in [\d.]+ s; skipped 3: /);
  const again = hyperclip('eval', '--dataset', shards);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(lastLine(again.stdout).match(/top-1: ([\d.]+)%/)![1], summary.match(/top-1: ([\d.]+)%/)![1], 'the same images as shards, the same accuracy');
  assert.match(lastLine(again.stdout), /\(24 images, 4 classes\)$/);
});

test('hyperclip fewshot --train photos/ --test photos-test/: shots from class folders, scored on the test folder', () => {
  const run = hyperclip('fewshot', '--train', photos, '--test', photosTest, '--shots', '1,2', '--descriptions', 'prompts');
  assert.equal(run.status, 0, run.stderr);
  assert.match(lastLine(run.stdout), /^fewshot: SLR-AVD 2-shot top-1 \d+\.\d\d% vs zero-shot \d+\.\d\d% \(24 test images, 4 classes, 1 draw\(s\)\)$/);
  assert.match(run.stderr, /^read: shots skipped \d+: .*, test skipped 3: .*corrupt_image 1/m, 'what the folders held that could not be used is said on stderr');
});

test('a CSV of image paths and captions: eval scores retrieval on it; OpenCLIP\'s column options name the columns', async () => {
  const images = await realImages(6, 'flickr8k', 'val');
  const folder = path.join(dir, 'pairs');
  mkdirSync(folder);
  const rows = ['image;text'];
  for (const [i, im] of images.entries()) {
    writeFileSync(path.join(folder, `${im.key}.jpg`), im.jpeg);
    rows.push(`${im.key}.jpg;${i === 0 ? quoted(`${im.caption}; "quoted"`) : im.caption}`);
  }
  const csv = path.join(folder, 'pairs.csv');
  writeFileSync(csv, rows.join('\r\n'));
  const run = hyperclip('eval', '--dataset', csv, '--csv-img-key', 'image', '--csv-caption-key', 'text', '--csv-separator', ';');
  assert.equal(run.status, 0, run.stderr);
  assert.match(lastLine(run.stdout), /pairs\.csv retrieval: image->text R@1 \d+\.\d\d%, text->image R@1 \d+\.\d\d% \(6 images, 6 captions\)$/);
  assertOneLineError(hyperclip('eval', '--dataset', csv, '--csv-separator', ';'), /pairs\.csv has no column "filepath" \(its columns: "image", "text"\): name the column with --csv-img-key\n$/);
  assertOneLineError(hyperclip('fewshot', '--train', csv, '--descriptions', 'prompts'), /pairs\.csv holds image-caption pairs, not class labels: give a folder of class folders/);
});

test('what cannot be read is one line on stderr: a missing folder, an empty class folder, images without classes', () => {
  assertOneLineError(hyperclip('eval', '--dataset', path.join(dir, 'no-photos')), /^hyperclip: dataset not found: \S+no-photos is no named dataset/);
  const broken = path.join(dir, 'broken');
  mkdirSync(path.join(broken, 'cat'), { recursive: true });
  mkdirSync(path.join(broken, 'dog'));
  writeFileSync(path.join(broken, 'cat', 'a.txt'), 'x');
  assertOneLineError(hyperclip('eval', '--dataset', broken), /^hyperclip: class folder \S+cat holds no images \(only 1 other file\(s\), e\.g\. a\.txt\): add its images/);
  assertOneLineError(hyperclip('fewshot', '--train', path.join(photos, '猫'), '--descriptions', 'prompts'), /holds images but no class folders: put each class's images in a folder named after it/);
  assertOneLineError(hyperclip('shards', path.join(dir, 'nothing-here'), '-o', path.join(dir, 'x')), /^hyperclip: dataset not found/);
});
