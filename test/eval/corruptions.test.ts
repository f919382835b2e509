// The corruption benchmark on real CIFAR-10 test images: each corruption is
// a pure function of (image, severity, seed), moves the image further from
// the clean one as the severity rises, and bad names are one clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDataset, type RawImage } from '../../src/data/index.js';
import { CORRUPTION_NAMES, MAX_SEVERITY, corrupt, parseCorruptions, parseSeverities } from '../../src/eval/corruptions/corruptions.js';
import { readCleanImages } from '../../src/eval/corruptions/evaluate.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

async function cifarImages(n: number): Promise<RawImage[]> {
  const source = resolveDataset('cifar10', 'test');
  return (await readCleanImages({ shards: source.shards, caption: source.caption }, n)).map((x) => x.image);
}

function meanAbsoluteDifference(a: RawImage, b: RawImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

test('corruptions: the same seed gives the same pixels, keeping size; noise changes with the seed', async () => {
  const [image] = await cifarImages(1);
  for (const name of CORRUPTION_NAMES) {
    const a = await corrupt(image!, name, 3, 7);
    const b = await corrupt(image!, name, 3, 7);
    assert.deepEqual([a.width, a.height, a.channels], [image!.width, image!.height, 3], name);
    assert.deepEqual(a.data, b.data, `${name} is deterministic under its seed`);
    assert.ok(meanAbsoluteDifference(a, image!) > 0, `${name} at severity 3 changes the image`);
  }
  for (const name of ['gaussian-noise', 'shot-noise', 'impulse-noise'] as const) {
    const other = await corrupt(image!, name, 3, 8);
    assert.notDeepEqual(other.data, (await corrupt(image!, name, 3, 7)).data, `${name} draws new noise for a new seed`);
  }
});

test('corruptions: severity 0 is the clean image and the distance from it grows with the severity', async () => {
  const images = await cifarImages(4);
  for (const name of CORRUPTION_NAMES) {
    const distances: number[] = [];
    for (let severity = 0; severity <= MAX_SEVERITY; severity++) {
      let total = 0;
      for (const [i, image] of images.entries()) total += meanAbsoluteDifference(await corrupt(image, name, severity, i), image);
      distances.push(total / images.length);
    }
    assert.equal(distances[0], 0, `${name} at severity 0 is the clean image`);
    for (let s = 1; s <= MAX_SEVERITY; s++) {
      assert.ok(distances[s]! > distances[s - 1]!, `${name}: distance at severity ${s} (${distances[s]!.toFixed(2)}) exceeds severity ${s - 1} (${distances[s - 1]!.toFixed(2)})`);
    }
  }
});

test('corruptions: names and severities parse; unknown ones are one message naming the valid choices', () => {
  assert.deepEqual(parseCorruptions('all'), CORRUPTION_NAMES);
  assert.deepEqual(parseCorruptions('jpeg, contrast,jpeg'), ['jpeg', 'contrast']);
  assert.throws(() => parseCorruptions('jpeg,fog'), /^Error: unknown corruption "fog": expected all or a comma-separated list of gaussian-noise, .*pixelate$/);
  assert.deepEqual(parseSeverities('5,1,3'), [1, 3, 5]);
  for (const bad of ['0', '6', '1,x', '']) assert.throws(() => parseSeverities(bad), /severities/);
});

test('hyperclip eval --corruptions: a table ending in the summary line; an unknown name is one line and exit 1', () => {
  const env = { ...process.env, HYPERCLIP_THREADS: '1' };
  const run = spawnSync(process.execPath, [CLI, 'eval', '--dataset', 'cifar10', '--limit', '16', '--corruptions', 'jpeg,pixelate', '--severities', '1,5', '--json'],
    { encoding: 'utf8', env });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { samples: number; clean: number; scores: { corruption: string; severity: number }[]; meanCorrupted: number };
  assert.equal(result.samples, 16);
  assert.deepEqual(result.scores.map((s) => `${s.corruption}@${s.severity}`), ['jpeg@1', 'jpeg@5', 'pixelate@1', 'pixelate@5']);
  assert.ok(result.meanCorrupted >= 0 && result.meanCorrupted <= 1);
  assert.match(run.stderr.trimEnd().split('\n').at(-1)!, /^cifar10 test corruptions: clean top-1 \d+\.\d\d%, mean corrupted top-1 \d+\.\d\d% \(16 images, 2 corruptions x severities 1,5\)$/);

  const bad = spawnSync(process.execPath, [CLI, 'eval', '--corruptions', 'gaussian,fog'], { encoding: 'utf8', env });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /unknown corruption "gaussian"/);
});
