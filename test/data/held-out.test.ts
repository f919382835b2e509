// The held-out classes and the names they go by: no WordNet node or group
// above the trainable classes may carry one of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot } from '../../src/data/datasets.js';
import { heldOutClasses, heldOutNames } from '../../src/data/held-out.js';
import { imagenetClasses } from '../../src/data/imagenet-classes.js';
import { WordNet, type Synset } from '../../src/data/wordnet.js';
import { ImagenetHierarchy } from '../../src/eval/wordnet-lookup.js';

test('heldOutNames: per held-out class, its synonyms then its synset\'s words; other classes add nothing', () => {
  const WORDS: Record<number, string[]> = { 100: ['goose'], 200: ['tabby', 'tabby_cat'], 300: ['lorry', 'truck'] };
  const wordnet = { synset: (o: number): Synset => ({ offset: o, words: WORDS[o]!, gloss: '', hypernyms: [], partMeronyms: [] }) } as unknown as WordNet;
  const hierarchy = { wordnet, synsets: [100, 200, 300] };
  const synonyms = [['goose', 'Anser'], ['tabby cat'], ['trailer truck']];
  assert.deepEqual(heldOutNames([1, 2], synonyms, hierarchy), ['tabby cat', 'tabby', 'tabby_cat', 'trailer truck', 'lorry', 'truck']);
  assert.deepEqual(heldOutNames([0], synonyms, hierarchy), ['goose', 'Anser', 'goose']);
  assert.deepEqual(heldOutNames([], synonyms, hierarchy), []);
});

// The real classes: needs the shared data (missing data skips locally but fails on CI).
const TIN = join(dataRoot(), 'tiny-imagenet', 'wnids.json');
const skip = existsSync(TIN) || process.env.CI === 'true' ? false : `${TIN} is missing (set HYPERCLIP_DATA)`;

test('heldOutNames on ImageNet: the held-out Tiny ImageNet classes\' synonyms and synset words', { skip }, () => {
  const names = imagenetClasses();
  const hierarchy = new ImagenetHierarchy(WordNet.load(), names);
  const held = new Set(heldOutClasses().wnids);
  const indices = names.wnids.flatMap((w, k) => (held.has(w) ? [k] : []));
  assert.equal(indices.length, held.size, 'every held-out class is an ImageNet class');
  const words = heldOutNames(indices, names.synonyms, hierarchy);
  const expected = indices.reduce((n, k) => n + names.synonyms[k]!.length + hierarchy.wordnet.synset(hierarchy.synsets[k]!).words.length, 0);
  assert.equal(words.length, expected);
  const set = new Set(words);
  for (const k of indices) {
    for (const s of names.synonyms[k]!) assert.ok(set.has(s), s);
    for (const w of hierarchy.wordnet.synset(hierarchy.synsets[k]!).words) assert.ok(set.has(w), w);
  }
});
