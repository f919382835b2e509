import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveDataset } from '../../src/data/datasets.js';
import { createLoader, type Batch, type LoaderOptions } from '../../src/data/loader.js';
import { evalPreprocess, trainPreprocess } from '../../src/data/preprocess.js';
import { corruptJpeg, jpeg, labelledSamples, tarBytes, tempDir, writeShard } from './fixtures.js';

const classes = { kind: 'label' as const, classnames: ['cat', 'dog', 'tree'], templates: ['a photo of a {}.'] };

async function collect(options: LoaderOptions, maxBatches = Infinity): Promise<{ batches: Batch[]; summary: string; loader: ReturnType<typeof createLoader> }> {
  const loader = createLoader(options);
  const batches: Batch[] = [];
  try {
    while (batches.length < maxBatches) {
      const batch = await loader.next();
      if (!batch) break;
      batches.push(batch);
    }
  } finally {
    await loader.close();
  }
  return { batches, summary: loader.skips.summary(), loader };
}

async function cleanShards(count: number): Promise<string[]> {
  const dir = tempDir();
  return [
    await writeShard(dir, 'c-0.tar', await labelledSamples('a', count, 12)),
    await writeShard(dir, 'c-1.tar.gz', await labelledSamples('b', count, 20)),
  ];
}

test('bad data is skipped and counted by reason; good samples all arrive as NCHW batches', async () => {
  const dir = tempDir();
  const good = await labelledSamples('g', 10, 12);
  const bad = {
    corrupt: { jpg: await corruptJpeg(), cls: '0' },
    noimage: { cls: '1' },
    nolabel: { jpg: await jpeg(8, 8, [1, 2, 3]) },
    badlabel: { jpg: await jpeg(8, 8, [1, 2, 3]), cls: '7' },
  };
  const mixed = await writeShard(dir, 'm-0.tar', { ...bad, ...good });
  const cut = join(dir, 'm-1.tar');
  const bytes = await tarBytes(await labelledSamples('t', 10, 12));
  writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
  const { batches, summary, loader } = await collect({
    sources: [{ shards: [mixed, cut], caption: classes }], batchSize: 4, preprocess: evalPreprocess(16), shuffle: false, workers: 0,
  });
  const keys = batches.flatMap((b) => b.keys);
  assert.ok(keys.length >= 12 && keys.length < 20, `${keys.length} samples`);
  assert.deepEqual(keys.slice(0, 10), Object.keys(good));
  for (const reason of ['corrupt_image', 'missing_image', 'missing_label', 'bad_annotation', 'truncated_shard']) {
    assert.equal(loader.skips.counts.get(reason as never), 1, `${reason} in ${summary}`);
  }
  const first = batches[0];
  assert.equal(first.size, 4);
  assert.equal(first.images.length, 4 * 3 * 16 * 16);
  assert.deepEqual([first.height, first.width], [16, 16]);
  assert.deepEqual([...first.labels!], [0, 1, 2, 0]);
  assert.deepEqual(first.captions, ['a photo of a cat.', 'a photo of a dog.', 'a photo of a tree.', 'a photo of a cat.']);
  assert.ok(batches.at(-1)!.size <= 4);
});

test('worker threads decode exactly what the calling thread decodes', async () => {
  const shards = await cleanShards(12);
  const options: LoaderOptions = { sources: [{ shards, caption: classes }], batchSize: 8, preprocess: trainPreprocess(24), seed: 9, shuffleBuffer: 6 };
  const inThread = await collect({ ...options, workers: 0 }, 3);
  const pooled = await collect({ ...options, workers: 2 }, 3);
  assert.equal(pooled.batches.length, 3);
  pooled.batches.forEach((batch, i) => {
    assert.deepEqual(batch.keys, inThread.batches[i].keys);
    assert.deepEqual(batch.captions, inThread.batches[i].captions);
    assert.deepEqual(batch.images, inThread.batches[i].images);
  });
});

test('a loader resumed from state() yields the batches the uninterrupted run yields', async () => {
  const shards = await cleanShards(10);
  const options: LoaderOptions = { sources: [{ shards, caption: classes }], batchSize: 6, preprocess: trainPreprocess(16), seed: 4, shuffleBuffer: 5, workers: 1 };
  const full = await collect(options, 7);
  const head = await collect(options, 3);
  const state = JSON.parse(JSON.stringify(head.loader.state()));
  assert.equal(state.draws, 18);
  const tail = await collect({ ...options, state }, 4);
  const resumed = [...head.batches, ...tail.batches];
  assert.deepEqual(resumed.map((b) => b.keys), full.batches.map((b) => b.keys));
  assert.deepEqual(resumed.map((b) => b.images), full.batches.map((b) => b.images));
  assert.notDeepEqual(full.batches[0].keys, full.batches[4].keys);
});

test('mixing a captioned and a labelled source: labels -1 for captions, weights respected', async () => {
  const dir = tempDir();
  const captioned: Record<string, Record<string, Buffer | string>> = {};
  for (let i = 0; i < 10; i++) captioned[`f${i}`] = { jpg: await jpeg(8, 8, [9, 9, 9]), json: JSON.stringify({ captions: [`one ${i}`, `two ${i}`] }) };
  const flickr = await writeShard(dir, 'f.tar', captioned);
  const [cifar] = await cleanShards(10);
  const { batches } = await collect({
    sources: [{ shards: flickr, caption: { kind: 'text' } }, { shards: cifar, caption: classes, weight: 3 }],
    batchSize: 40, preprocess: trainPreprocess(8), seed: 2, workers: 0,
  }, 3);
  const all = batches.flatMap((b) => b.keys.map((key, i) => ({ key, label: b.labels![i], caption: b.captions[i] })));
  const fromFlickr = all.filter((s) => s.key.startsWith('f'));
  assert.ok(fromFlickr.length > 15 && fromFlickr.length < 45, `${fromFlickr.length} of 120 from the weight-1 source`);
  assert.ok(fromFlickr.every((s) => s.label === -1 && /^(one|two) \d$/.test(s.caption)));
  assert.ok(all.filter((s) => !s.key.startsWith('f')).every((s) => s.label >= 0 && s.label < 3));
});

test('a missing shard is a clear error before anything starts', () => {
  assert.throws(() => createLoader({ sources: [{ shards: '/nowhere/train-{000000..000001}.tar', caption: classes }], batchSize: 2, preprocess: evalPreprocess(8) }),
    /shard not found: \/nowhere\/train-000000.tar, \/nowhere\/train-000001.tar; check the path/);
  assert.throws(() => createLoader({ sources: [], batchSize: 2, preprocess: evalPreprocess(8) }), /no data sources given/);
});

test('real CIFAR-10 test: 256 images through the worker pool, labels and captions match', async () => {
  const cifar = resolveDataset('cifar10', 'test', 'simple');
  const { batches, summary } = await collect({ sources: [cifar], batchSize: 64, preprocess: evalPreprocess(32), shuffle: false, workers: 2 }, 4);
  assert.equal(batches.length, 4, summary);
  for (const batch of batches) {
    assert.equal(batch.images.length, 64 * 3 * 32 * 32);
    assert.ok(batch.images.every(Number.isFinite));
    batch.keys.forEach((key, i) => {
      const name = cifar.classnames![batch.labels![i]];
      assert.equal(batch.captions[i], `a photo of a ${name}.`);
      assert.ok(key.includes(`_${name}_`), `${key} is a ${name}`);
    });
  }
  assert.equal(summary, 'skipped 0');
});

test('real Flickr8k val: training batches with real captions, no labels', async () => {
  const { batches } = await collect({ sources: [resolveDataset('flickr8k', 'val')], batchSize: 50, preprocess: trainPreprocess(64), seed: 1, shuffleBuffer: 100 }, 2);
  assert.equal(batches[1].images.length, 50 * 3 * 64 * 64);
  assert.equal(batches[0].labels, null);
  assert.ok(batches[0].captions.every((c) => c.split(' ').length > 3));
});

test('overlapping next() calls keep the batch order', async () => {
  const shards = await cleanShards(8);
  const options: LoaderOptions = { sources: [{ shards, caption: classes }], batchSize: 4, preprocess: trainPreprocess(8), seed: 6, workers: 2 };
  const sequential = await collect(options, 3);
  const loader = createLoader(options);
  const overlapping = await Promise.all([loader.next(), loader.next(), loader.next()]);
  await loader.close();
  assert.deepEqual(overlapping.map((b) => b!.keys), sequential.batches.map((b) => b.keys));
});

test('a caption kind that matches no sample is a clear error, not an endless loop', async () => {
  const shards = await cleanShards(600);
  const loader = createLoader({ sources: [{ shards, caption: { kind: 'text' } }], batchSize: 4, preprocess: evalPreprocess(8), workers: 0 });
  await assert.rejects(loader.next(), /1000 samples in a row had no usable image and caption \(skipped 1000: missing_caption 1000/);
  await loader.close();
});

test('for-await over the loader closes it on break, and its state stays readable', async () => {
  const shards = await cleanShards(8);
  const loader = createLoader({ sources: [{ shards, caption: classes }], batchSize: 4, preprocess: trainPreprocess(8), seed: 1, workers: 1 });
  let seen = 0;
  for await (const batch of loader) {
    seen += batch.size;
    if (seen >= 8) break;
  }
  assert.equal(loader.state().draws, 8);
  await loader.close();
});
