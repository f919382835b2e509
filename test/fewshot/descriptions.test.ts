// Descriptions from each source: the shared descriptor file, WordNet, the
// class prompts alone; and their bad input (missing classes, unknown words,
// duplicates), each one clear line or a stated fallback.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dataRoot } from '../../src/data/datasets.js';
import { WordNet } from '../../src/data/wordnet.js';
import { checkClassnames } from '../../src/eval/prompt-lists.js';
import { describe, descriptionsFromFile, descriptionsFromPrompts, descriptionsFromWordNet } from '../../src/fewshot/descriptions.js';

const CIFAR100_DESCRIPTORS = path.join(dataRoot(), 'descriptors', 'descriptors_cifar100.json');

test('a phrase becomes a sentence naming its class', () => {
  assert.equal(describe('apple', 'round shape'), 'apple, which has round shape');
  assert.equal(describe('bee', 'has a stinger.'), 'bee, which has a stinger');
  assert.equal(describe('plow', 'used for farming'), 'plow, which is used for farming');
  assert.equal(describe('frog', 'often green'), 'frog, which often green');
});

test('the CIFAR-100 descriptor file gives every class its descriptions, matched with underscores or spaces', () => {
  const found = descriptionsFromFile(CIFAR100_DESCRIPTORS, ['apple', 'aquarium_fish', 'Maple Tree']);
  assert.equal(found.source, 'descriptors_cifar100.json');
  assert.deepEqual(found.warnings, []);
  assert.ok(found.sentences[0]!.includes('apple, which has round shape'), found.sentences[0]!.join(' | '));
  assert.ok(found.sentences[1]!.length >= 5 && found.sentences[1]!.every((s) => s.startsWith('aquarium_fish, which ')));
  assert.ok(found.sentences[2]!.length >= 5);
});

test('a description file: a missing class is an error line, an empty list a stated fallback', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-descriptions-'));
  try {
    const file = path.join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ cat: ['whiskers', 'pointed ears'], dog: [] }));
    const found = descriptionsFromFile(file, ['cat', 'dog']);
    assert.deepEqual(found.sentences, [['cat, which has whiskers', 'cat, which has pointed ears'], []]);
    assert.deepEqual(found.warnings, [`class "dog" has no descriptions in ${file}: it keeps its class prompt only`]);
    assert.throws(() => descriptionsFromFile(file, ['cat', 'horse']),
      { message: `class "horse" has no entry in ${file}: add it, or use --descriptions wordnet or prompts` });
    writeFileSync(file, '["cat"]');
    assert.throws(() => descriptionsFromFile(file, ['cat']), { message: `${file}: expected a JSON object {"class name": ["description", ...]}` });
    assert.throws(() => descriptionsFromFile(path.join(dir, 'none.json'), ['cat']), /descriptions file not found: .*none\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WordNet describes any class: gloss, hypernyms, synonyms and parts; unknown words fall back with a line each', () => {
  const wordnet = WordNet.load();
  const found = descriptionsFromWordNet(['cat', 'airplane', 'aquarium fish', 'qwzxv'], wordnet);
  const [cat, airplane, fish, unknown] = found.sentences;
  assert.ok(cat!.includes('a cat, which is a feline mammal usually having thick soft fur and no ability to roar'), cat!.join(' | '));
  assert.ok(cat!.includes('a cat, a kind of feline'));
  assert.ok(cat!.some((s) => /^a cat, which has an? (paw|coat|tail|hair)$/.test(s)), cat!.join(' | '));
  assert.ok(airplane!.includes('an airplane, also called an aeroplane'));
  assert.ok(airplane!.includes('an airplane, which has a fuselage'), airplane!.join(' | '));
  assert.ok(fish!.length > 0 && fish!.every((s) => s.startsWith('an aquarium fish, ')));
  assert.deepEqual(unknown, []);
  assert.deepEqual(found.warnings, [
    'WordNet has no noun "aquarium fish": described as "fish"',
    'WordNet has no noun "qwzxv" (nor its first or last word): it keeps its class prompt only',
  ]);
});

test('class prompts only, and class lists with duplicates or too few classes', () => {
  assert.deepEqual(descriptionsFromPrompts(['cat', 'dog']).sentences, [[], []]);
  // The few-shot command's check: the one class-list check, with two classes at least.
  const fewShotCheck = (names: string[]) => checkClassnames(names, '--classes', { minimum: 2 });
  assert.throws(() => fewShotCheck(['cat', 'dog', 'Cat ']), { message: '--classes: class "Cat" appears twice: give each class once' });
  assert.throws(() => fewShotCheck(['cat']), { message: '--classes: give at least 2 classes, got 1' });
  assert.throws(() => fewShotCheck(['cat', ' ']), { message: '--classes: class 2 is empty: remove it or give it a name' });
});
