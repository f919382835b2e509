import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annotate, labelPhrases, resolveDataset, WordNet, type RawSample } from '../../src/data/index.js';

const wordnet = WordNet.load();

test('label phrases keep usable synonyms and add hypernym phrases', () => {
  const [bullfrog, tabby] = labelPhrases([['bullfrog', 'Rana catesbeiana'], ['tabby', 'tabby cat']], wordnet, { hypernymLevels: 2 });
  assert.deepEqual(bullfrog!.slice(0, 1), ['bullfrog'], 'the Latin binomial is dropped');
  assert.ok(bullfrog!.includes('bullfrog, a kind of frog'), bullfrog!.join(' | '));
  assert.ok(tabby!.includes('tabby cat'));
  assert.ok(tabby!.includes('tabby, a kind of cat'), tabby!.join(' | '));
  assert.deepEqual(labelPhrases([['Egyptian cat']], null, { hypernymLevels: 2 }), [['Egyptian cat']], 'the first name always stays');
  assert.throws(() => labelPhrases([[]], wordnet, { hypernymLevels: 1 }), /class 0 has no name/);
});

test('Tiny ImageNet resolves with WordNet naming, and captions are drawn deterministically per seed', () => {
  const source = resolveDataset('tiny-imagenet', 'train', 'clip', 'wordnet');
  assert.equal(source.classnames!.length, 202);
  assert.equal(source.caption.kind, 'label');
  const names = (source.caption as { names?: string[][] }).names!;
  assert.equal(names.length, 202);
  const sample: RawSample = { key: 'k', shard: 's', members: new Map([['cls', Buffer.from('2')]]) } as RawSample;
  const first = annotate(sample, source.caption, 7), again = annotate(sample, source.caption, 7);
  assert.deepEqual(first, again);
  const captions = new Set(Array.from({ length: 40 }, (_, seed) => (annotate(sample, source.caption, seed) as { caption: string }).caption));
  assert.ok([...captions].some((c) => c.includes('bullfrog')), 'class 2 is the bullfrog');
  assert.ok([...captions].some((c) => c.includes('a kind of')), 'hypernym phrases are drawn too');
  assert.throws(() => resolveDataset('cifar10', 'train', 'clip', 'synonyms'), /needs .*synonyms.json/);
  assert.throws(() => resolveDataset('tiny-imagenet', 'test'), /unknown split "test" of tiny-imagenet; known: train, val/);
});

test('a .cls member must hold decimal digits: blank or hexadecimal labels are bad annotations', () => {
  const source = resolveDataset('tiny-imagenet', 'val').caption;
  const cls = (text: string): RawSample => ({ key: 'k', shard: 's', members: new Map([['cls', Buffer.from(text)]]) }) as RawSample;
  assert.equal(annotate(cls('  \n'), source, 0), 'bad_annotation');
  assert.equal(annotate(cls('0x3'), source, 0), 'bad_annotation');
  assert.equal(annotate(cls('1e1'), source, 0), 'bad_annotation');
  assert.equal((annotate(cls(' 3\n'), source, 0) as { label: number }).label, 3);
});
