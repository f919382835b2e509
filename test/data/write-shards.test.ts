// `hyperclip shards` underneath: an image folder and a CSV written as
// WebDataset shards and read back through the resolver; the same seed gives
// the same bytes, bad images stay out and are counted.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createLoader } from '../../src/data/loader.js';
import { evalPreprocess } from '../../src/data/preprocess.js';
import { resolveData } from '../../src/data/resolve.js';
import { iterateSamples } from '../../src/data/webdataset/reader.js';
import { ShardWriter } from '../../src/data/webdataset/writer.js';
import { writeShards } from '../../src/data/write-shards.js';
import { tempDir } from './fixtures.js';
import { FOLDER_CLASSES, photoFolder, quoted, realImages } from './own-data-fixtures.js';

test('an image folder as shards: every good image once with its label, classnames.json, bad files counted, same seed same bytes', async () => {
  const dir = tempDir();
  try {
    const photos = path.join(dir, 'photos');
    const truth = await photoFolder(photos, 5);
    const data = resolveData(photos);
    const a = await writeShards(data, path.join(dir, 'a'), { seed: 7, samplesPerShard: 8 });
    assert.equal(a.samples, 20);
    assert.deepEqual(a.shards.map((s) => path.basename(s)), ['shard-000000.tar', 'shard-000001.tar', 'shard-000002.tar']);
    assert.match(a.skipped.summary(), /^skipped 3: /);
    assert.match(a.skipped.summary(), /corrupt_image 1 \(e\.g\. \S+:dog_breed\/broken\.jpg: /);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'a', 'classnames.json'), 'utf8')), FOLDER_CLASSES);
    assert.deepEqual(readdirSync(path.join(dir, 'a')).filter((f) => f.endsWith('.partial')), []);

    // Read back as a dataset: the folder's classes, and each image's label by the file it came from.
    const back = resolveData(path.join(dir, 'a'), { need: 'labels' });
    assert.deepEqual(back.classnames, FOLDER_CLASSES);
    let count = 0;
    for await (const sample of iterateSamples(a.shards)) {
      const source = JSON.parse(sample.members.get('json')!.toString()).source as string;
      assert.equal(Number(sample.members.get('cls')!.toString()), truth.get(source), source);
      assert.ok(sample.members.has('jpg'), `${source}: .JPG files become .jpg members`);
      count++;
    }
    assert.equal(count, 20);
    const loader = createLoader({ sources: [back.source], batchSize: 32, preprocess: evalPreprocess(32), workers: 0, shuffle: false });
    const batch = (await loader.next())!;
    await loader.close();
    assert.equal(batch.size, 20);
    assert.equal(loader.skips.total, 0);

    const again = await writeShards(data, path.join(dir, 'b'), { seed: 7, samplesPerShard: 8 });
    const other = await writeShards(data, path.join(dir, 'c'), { seed: 8, samplesPerShard: 8 });
    assert.ok(again.shards.every((s, i) => readFileSync(s).equals(readFileSync(a.shards[i]!))), 'the same seed writes the same bytes');
    assert.ok(!readFileSync(other.shards[0]!).equals(readFileSync(a.shards[0]!)), 'another seed another order');
    await assert.rejects(writeShards(data, path.join(dir, 'a')), /already holds shards \(classnames\.json\): write to an empty folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a CSV as shards: captions as .txt members, kept in row order without shuffling; shards cannot be re-sharded', async () => {
  const dir = tempDir();
  try {
    const images = await realImages(3, 'flickr8k', 'val');
    const rows = ['filepath\ttitle', ...images.map((im, i) => `${im.key}.jpg\t${i === 0 ? quoted('says "hi", twice') : im.caption}`)];
    for (const im of images) writeFileSync(path.join(dir, `${im.key}.jpg`), im.jpeg);
    writeFileSync(path.join(dir, 'pairs.tsv'), rows.join('\r\n'));
    const data = resolveData(path.join(dir, 'pairs.tsv'));
    const out = path.join(dir, 'shards');
    const summary = await writeShards(data, out, { shuffle: false });
    assert.equal(summary.samples, 3);
    assert.equal(summary.classnames, null);
    const captions: string[] = [];
    for await (const sample of iterateSamples(summary.shards)) captions.push(sample.members.get('txt')!.toString());
    assert.deepEqual(captions, ['says "hi", twice', images[1]!.caption, images[2]!.caption]);
    assert.equal(resolveData(out).source.caption.kind, 'text');
    await assert.rejects(writeShards(resolveData(out), path.join(dir, 'again')), /is already WebDataset shards/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ShardWriter: a new shard every maxSamples, keys without dots', async () => {
  const dir = tempDir();
  try {
    mkdirSync(path.join(dir, 'w'));
    const writer = new ShardWriter(path.join(dir, 'w'), { prefix: 'train', maxSamples: 2 });
    for (let i = 0; i < 5; i++) await writer.write(`k${i}`, [['txt', Buffer.from(`caption ${i}`)]]);
    await assert.rejects(writer.write('a.b', [['txt', Buffer.from('x')]]), /hold no dot/);
    const shards = await writer.close();
    assert.deepEqual(shards.map((s) => path.basename(s)), ['train-000000.tar', 'train-000001.tar', 'train-000002.tar']);
    const keys: string[] = [];
    for await (const sample of iterateSamples(shards)) keys.push(sample.key);
    assert.deepEqual(keys, ['k0', 'k1', 'k2', 'k3', 'k4']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
