// Training on your own data: a recipe (as a --config JSON file would give it)
// whose mixture is a CSV of Flickr8k pairs and a folder of CIFAR-10 class
// folders made here, bad files included; the run counts what it skipped,
// and a source that cannot give captions fails before the run folder exists.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import type { TrainReporter } from '../../src/train/reporter.js';
import { train } from '../../src/train/trainer.js';
import { corruptJpeg } from '../data/fixtures.js';
import { photoFolder, quoted, realImages } from '../data/own-data-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-train-own-'));
after(() => rmSync(root, { recursive: true, force: true }));

const quiet: TrainReporter = { start: () => undefined, step: () => undefined, message: () => undefined, stop: () => undefined };

test('a recipe whose data is a CSV of pairs and a folder of class folders trains, counting what it skipped', async () => {
  const images = await realImages(12, 'flickr8k', 'val');
  mkdirSync(path.join(root, 'pairs'));
  const rows = ['filepath\ttitle'];
  for (const im of images) {
    writeFileSync(path.join(root, 'pairs', `${im.key}.jpg`), im.jpeg);
    rows.push(`${im.key}.jpg\t${quoted(im.caption!)}`);
  }
  writeFileSync(path.join(root, 'pairs', 'broken.jpg'), await corruptJpeg());
  rows.push('broken.jpg\ta broken picture');
  writeFileSync(path.join(root, 'pairs', 'pairs.tsv'), rows.join('\r\n'));
  await photoFolder(path.join(root, 'photos'), 3);
  const config = resolveTrainConfig('test-tiny', undefined, {
    data: [{ dataset: path.join(root, 'pairs', 'pairs.tsv'), weight: 1 }, { dataset: path.join(root, 'photos'), weight: 1, templates: 'simple' }],
  });
  const summary = await train(config, { outDir: path.join(root, 'run'), resume: false, reporter: quiet });
  assert.equal(summary.steps, 6);
  assert.ok(Number.isFinite(summary.finalLoss));
  assert.match(summary.skipped, /not_an_image 1/, 'the folder\'s notes.txt is counted');
  assert.match(summary.skipped, /outside_class_folder 1/);
  assert.ok(existsSync(path.join(root, 'run', 'model', 'config.json')));
});

test('images without captions or classes cannot train: one line, and no run folder', async () => {
  const plain = path.join(root, 'plain');
  mkdirSync(plain);
  const [image] = await realImages(1);
  writeFileSync(path.join(plain, 'a.jpg'), image!.jpeg);
  const config = resolveTrainConfig('test-tiny', undefined, { data: [{ dataset: plain, weight: 1 }] });
  await assert.rejects(train(config, { outDir: path.join(root, 'no-run'), resume: false, reporter: quiet }),
    /plain holds images only, without captions or classes: give a CSV\/TSV of image paths and captions, or a folder of class folders$/);
  assert.ok(!existsSync(path.join(root, 'no-run')));
});
