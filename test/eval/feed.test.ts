// Which samples an evaluation reads: labelled images under a limit in
// batches cut at the limit, and the retrieval gallery (the first N captioned
// images, every caption of each) fed in reading order without the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalPreprocess } from '../../src/data/index.js';
import { evaluateClassification } from '../../src/eval/classification.js';
import { galleryFeed, labelledFeed, readGallery, type GalleryBatch, type LabelledBatch } from '../../src/eval/feed.js';
import { jpeg, labelledSamples, tempDir, writeShard } from '../data/fixtures.js';

const SIZE = 8;
const preprocess = evalPreprocess(SIZE);
const label = { kind: 'label' as const, classnames: ['a', 'b', 'c'], templates: ['{}'] };

async function collect<B>(feed: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const batch of feed) out.push(batch);
  return out;
}

test('a labelled feed stops at the limit, cutting the last batch there', async () => {
  const shard = await writeShard(tempDir(), 'l-000.tar', await labelledSamples('s', 10, SIZE));
  const all = await collect<LabelledBatch>(labelledFeed({ shards: [shard], caption: label }, preprocess, { batchSize: 4, workers: 0 }));
  assert.deepEqual(all.map((b) => b.shape[0]), [4, 4, 2]);
  assert.deepEqual(all.flatMap((b) => [...b.labels]), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'without a limit: stored order');
  const feed = labelledFeed({ shards: [shard], caption: label }, preprocess, { limit: 7, batchSize: 4, workers: 0 });
  const limited = await collect(feed);
  assert.deepEqual(limited.map((b) => b.shape), [[4, 3, SIZE, SIZE], [3, 3, SIZE, SIZE]]);
  assert.ok(limited.every((b) => b.pixels.length === b.shape[0] * 3 * SIZE * SIZE && b.labels.length === b.shape[0]));
  assert.equal(typeof feed.skipped(), 'string');
});

test('classification counts every fed image once, whatever ranks them', async () => {
  const shard = await writeShard(tempDir(), 'l-000.tar', await labelledSamples('s', 10, SIZE));
  const alwaysA = (_pixels: Float32Array, shape: number[], k: number) => Array.from({ length: shape[0]! * k }, (_, i) => i % k);
  const r = await evaluateClassification(alwaysA, { shards: [shard], caption: label }, label.classnames, preprocess, { batchSize: 4, workers: 0 });
  assert.deepEqual([r.samples, r.top1, r.top5], [10, 4 / 10, 1]);
  assert.deepEqual(r.perClass.map((c) => c.accuracy), [1, 0, 0]);
  assert.deepEqual(r.confusions.map((c) => `${c.truth}->${c.predicted} ${c.count}`), ['b->a 3', 'c->a 3']);
});

test('the gallery is the first captioned images with all their captions; its feed yields only them, in reading order', async () => {
  const image = (v: number) => jpeg(SIZE, SIZE, [v, v, v]);
  const shard = await writeShard(tempDir(), 'g-000.tar', {
    k0: { jpg: await image(10), json: JSON.stringify({ captions: ['a dog', 'a brown dog'] }) },
    k1: { jpg: await image(20) },
    k2: { jpg: await image(30), txt: 'a cat' },
    k3: { jpg: await image(40), json: JSON.stringify({ captions: ['', 'a bird'] }) },
    k4: { jpg: await image(50), json: JSON.stringify({ captions: ['a fish'] }) },
  });
  const source = { shards: [shard], caption: { kind: 'none' as const } };
  const gallery = await readGallery(source, 3);
  assert.deepEqual(gallery, { keys: ['k0', 'k2', 'k3'], captions: [['a dog', 'a brown dog'], ['a cat'], ['a bird']] });
  assert.deepEqual((await readGallery(source)).keys, ['k0', 'k2', 'k3', 'k4']);
  const batches = await collect<GalleryBatch>(galleryFeed(source, preprocess, gallery, { batchSize: 2, workers: 0 }));
  assert.deepEqual(batches.flatMap((b) => b.indices), [0, 1, 2]);
  assert.ok(batches.every((b) => b.pixels.length === b.indices.length * 3 * SIZE * SIZE && b.shape[0] === b.indices.length));
  // k1 (no caption) is left out: the second image fed is k2's, brighter than k0's.
  const mean = (b: GalleryBatch, i: number) => b.pixels.subarray(i * 3 * SIZE * SIZE, (i + 1) * 3 * SIZE * SIZE).reduce((s, v) => s + v, 0);
  const fed = batches.flatMap((b) => b.indices.map((_, i) => mean(b, i)));
  assert.ok(fed[0]! < fed[1]! && fed[1]! < fed[2]!);
});
