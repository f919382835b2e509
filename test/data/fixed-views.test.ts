// Fixed augmented views in the loader: the view a draw takes comes from the
// run's seed (same seed, same sequence), a view's pixels from the image and
// the view alone (the same in every run), and stored views skip decoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLoader, type Batch, type LoaderOptions } from '../../src/data/loader.js';
import { trainPreprocess } from '../../src/data/preprocess.js';
import { viewSeed } from '../../src/data/fixed-views.js';
import { resolveDataset } from '../../src/data/datasets.js';
import type { ViewFeatureReader } from '../../src/data/fixed-views.js';

const flickr = { ...resolveDataset('flickr8k', 'val'), name: 'flickr8k:val' };

async function batches(options: Partial<LoaderOptions>, count: number): Promise<Batch[]> {
  const loader = createLoader({
    sources: [flickr], batchSize: 6, preprocess: trainPreprocess(24), shuffleBuffer: 12, workers: 0, views: { count: 3 }, ...options,
  });
  const out: Batch[] = [];
  try {
    for (let i = 0; i < count; i++) out.push((await loader.next())!);
  } finally {
    await loader.close();
  }
  return out;
}

const draws = (bs: Batch[]): string[] => bs.flatMap((b) => b.views!.ids.map((id, i) => `${id}#${b.views!.index[i]}`));

test('the same seed gives the same sequence of images and views; another seed another one', async () => {
  const a = await batches({ seed: 3 }, 2);
  const b = await batches({ seed: 3 }, 2);
  const c = await batches({ seed: 4 }, 2);
  assert.deepEqual(draws(a), draws(b));
  assert.notDeepEqual(draws(a), draws(c));
  const views = a.flatMap((x) => [...x.views!.index]);
  assert.ok(views.every((v) => v >= 0 && v < 3));
  assert.ok(new Set(views).size > 1, `views drawn: ${views}`);
  assert.deepEqual(a[0]!.images, b[0]!.images);
});

test('a view has the same pixels in runs of different seeds; two views of one image differ', async () => {
  const perImage = 3 * 24 * 24;
  const pixels = new Map<string, Float32Array>();
  for (const seed of [1, 2, 3, 4]) {
    for (const batch of await batches({ seed, shuffle: false }, 1)) {
      batch.views!.ids.forEach((id, i) => {
        const key = `${id}#${batch.views!.index[i]}`;
        const p = batch.images.subarray(i * perImage, (i + 1) * perImage);
        const seen = pixels.get(key);
        if (seen !== undefined) assert.deepEqual(p, seen, `${key} in run ${seed}`);
        else pixels.set(key, p.slice());
      });
    }
  }
  const byImage = new Map<string, Float32Array[]>();
  for (const [key, p] of pixels) byImage.set(key.split('#')[0]!, [...(byImage.get(key.split('#')[0]!) ?? []), p]);
  const [image, two] = [...byImage].find(([, views]) => views.length >= 2) ?? [];
  assert.ok(two !== undefined, 'some image was drawn in two views over four runs');
  assert.notDeepEqual(two[0], two[1]);
  assert.notEqual(viewSeed(image!, 0), viewSeed(image!, 1));
});

test('a view the store holds comes with its stored bytes and is not decoded; the others are, in batch order', async () => {
  const [plain] = await batches({ seed: 5 }, 1);
  const held = new Set([0, 2, 3].map((i) => `${plain!.views!.ids[i]}#${plain!.views!.index[i]}`));
  const store: ViewFeatureReader = { read: (id, view) => (held.has(`${id}#${view}`) ? Uint8Array.of(view) : null) };
  const [cached] = await batches({ seed: 5, views: { count: 3, store } }, 1);
  assert.deepEqual(draws([cached!]), draws([plain!]));
  assert.deepEqual(cached!.views!.stored.map((s) => s !== null), [true, false, true, true, false, false]);
  const perImage = 3 * 24 * 24;
  assert.equal(cached!.images.length, 3 * perImage);
  assert.deepEqual(cached!.images.subarray(0, perImage), plain!.images.subarray(perImage, 2 * perImage));
  assert.deepEqual(cached!.images.subarray(2 * perImage), plain!.images.subarray(5 * perImage));
});

test('fixed views need a name for every source', () => {
  const { name: _name, ...unnamed } = flickr;
  assert.throws(() => createLoader({ sources: [unnamed], batchSize: 2, preprocess: trainPreprocess(24), views: { count: 2 } }), /fixed views need a name for every loader source/);
});
