import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annotate } from '../../src/data/captions.js';
import { clipPrompts, dataRoot, resolveDataset, resolveDatasetSpec } from '../../src/data/datasets.js';
import { iterateSamples, type RawSample } from '../../src/data/webdataset/reader.js';
import { tempDir } from './fixtures.js';

async function first(shards: string[]): Promise<RawSample> {
  for await (const sample of iterateSamples(shards)) return sample;
  throw new Error('empty shard');
}

test('named datasets resolve to their shards under the data root', () => {
  assert.ok(dataRoot().endsWith('/shared/data'));
  assert.equal(resolveDataset('cifar10', 'train').shards.length, 5);
  assert.equal(resolveDataset('flickr8k', 'train').shards.length, 6);
  const cifar100 = resolveDatasetSpec('cifar100:test');
  assert.equal(cifar100.classnames!.length, 100);
  assert.ok(cifar100.classnames!.includes('aquarium fish'));
  assert.equal(cifar100.caption.kind === 'label' && cifar100.caption.templates.length, 18);
  assert.deepEqual(clipPrompts('CIFAR10').templates[0], 'a photo of a {}.');
});

test('unknown names, splits and a wrong data root are clear errors', () => {
  assert.throws(() => resolveDataset('imagenet', 'train'), /unknown dataset "imagenet"; known: flickr8k, cifar10, cifar100/);
  assert.throws(() => resolveDataset('cifar10', 'val'), /unknown split "val" of cifar10; known: train, test/);
  assert.throws(() => resolveDatasetSpec('cifar10'), /expected a dataset as NAME:SPLIT/);
  const saved = process.env.HYPERCLIP_DATA;
  const empty = tempDir();
  process.env.HYPERCLIP_DATA = empty;
  try {
    assert.throws(() => resolveDataset('cifar10', 'test'), new RegExp(`no shards test-\\*.tar\\(.gz\\) in ${empty}/cifar10: set HYPERCLIP_DATA`));
  } finally {
    if (saved === undefined) delete process.env.HYPERCLIP_DATA; else process.env.HYPERCLIP_DATA = saved;
  }
});

test('Flickr8k: a seeded random one of the 5 captions each draw', async () => {
  const sample = await first(resolveDataset('flickr8k', 'val').shards);
  const { captions } = JSON.parse(sample.members.get('json')!.toString()) as { captions: string[] };
  const drawn = new Set<string>();
  for (let seed = 0; seed < 60; seed++) {
    const got = annotate(sample, { kind: 'text' }, seed);
    assert.ok(typeof got !== 'string' && captions.includes(got.caption) && got.label === -1);
    drawn.add((got as { caption: string }).caption);
  }
  assert.equal(drawn.size, 5);
  assert.deepEqual(annotate(sample, { kind: 'text' }, 3), annotate(sample, { kind: 'text' }, 3));
  sample.members.delete('json');
  assert.deepEqual(annotate(sample, { kind: 'text' }, 3), { caption: sample.members.get('txt')!.toString().trim(), label: -1 });
  sample.members.delete('txt');
  assert.equal(annotate(sample, { kind: 'text' }, 3), 'missing_caption');
});

test('CIFAR-100: class index -> CLIP template caption', async () => {
  const dataset = resolveDataset('cifar100', 'test');
  const sample = await first(dataset.shards);
  const label = Number(sample.members.get('cls')!.toString());
  const fine = (JSON.parse(sample.members.get('json')!.toString()) as { fine: number }).fine;
  assert.equal(label, fine);
  const captions = new Set<string>();
  for (let seed = 0; seed < 100; seed++) {
    const got = annotate(sample, dataset.caption, seed);
    assert.ok(typeof got !== 'string' && got.label === label && got.caption.includes(dataset.classnames![label]));
    captions.add((got as { caption: string }).caption);
  }
  assert.ok(captions.size > 10, `${captions.size} distinct templates used`);
});
