import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WordNet, lemmaKey } from '../../src/data/wordnet.js';

const wordnet = WordNet.load();

test('a lemma resolves to its noun synsets, most frequent sense first', () => {
  const [tabby] = wordnet.nounSynsets('Tabby');
  assert.ok(tabby.words.includes('tabby cat'), `tabby's first sense is the cat: ${tabby.words}`);
  assert.match(tabby.gloss, /cat/);
  assert.deepEqual(wordnet.nounSynsets('no such word xyz'), []);
  assert.equal(lemmaKey(' Moving  Van '), 'moving_van');
});

test('hypernym chains connect fine labels to everyday words', () => {
  const names = (lemma: string) => wordnet.hypernymChain(wordnet.nounSynsets(lemma)[0], 3).flatMap((s) => s.words);
  assert.ok(names('tabby').includes('cat'));
  assert.ok(names('moving van').includes('truck'));
  assert.ok(names('lifeboat').includes('boat'));
  assert.ok(names('bullfrog').includes('frog'));
});

test('a list of synonyms picks the sense they share, not the most frequent one', () => {
  // "albatross" alone is first the figurative hindrance; with "mollymawk" it is the bird.
  const bird = wordnet.synsetOfSynonyms(['albatross', 'mollymawk']);
  assert.ok(bird !== null && bird.words.includes('mollymawk'));
  assert.ok(wordnet.hypernymChain(bird, 6).some((s) => s.words.includes('bird')));
  assert.equal(wordnet.synsetOfSynonyms(['qwertyuiop']), null);
});

test('offsets that start no synset are refused with a clear error', () => {
  assert.throws(() => wordnet.synset(-1), /no WordNet noun synset/);
  const [cat] = wordnet.nounSynsets('cat');
  assert.throws(() => wordnet.synset(cat.offset + 1), /corrupt|no synset/);
});
