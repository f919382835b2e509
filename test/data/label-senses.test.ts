// Which WordNet sense a class's hypernym phrases come from: its names
// ('by-name', what every committed run used) or its WordNet id ('by-wnid').
// Measured on the real class lists of the data folder; the test output lists
// the classes that change.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataRoot, labelPhrases, resolveDataset, WordNet } from '../../src/data/index.js';
import { imagenetClasses } from '../../src/data/imagenet-classes.js';
import { wordnetNameTexts } from '../../src/data/tokenizer/training-corpus.js';
import { loaderSources } from '../../src/train/data-sources.js';
import { RECIPES, validateTrainConfig, type TrainConfig } from '../../src/train/recipes.js';

const wordnet = WordNet.load();
const LEVELS = { hypernymLevels: 2 };
const kinds = (phrases: string[]) => phrases.filter((p) => p.includes(', a kind of '));

/** Classes whose phrases differ between the two senses, with a few examples for the test output. */
function changed(synonyms: string[][], wnids: string[]): { indices: number[]; examples: string[] } {
  const byName = labelPhrases(synonyms, wordnet, LEVELS), byWnid = labelPhrases(synonyms, wordnet, { ...LEVELS, wnids });
  const indices = synonyms.flatMap((_, k) => (JSON.stringify(byName[k]) === JSON.stringify(byWnid[k]) ? [] : [k]));
  const examples = indices.map((k) => `${wnids[k]} ${kinds(byName[k]!)[0] ?? synonyms[k]![0]} -> ${kinds(byWnid[k]!)[0]}`);
  return { indices, examples };
}

test('a WNID picks its own sense: two classes named "crane", the bird and the machine', () => {
  const crane = [['crane']];
  const [writer] = labelPhrases(crane, wordnet, LEVELS);
  assert.ok(writer!.includes('crane, a kind of writer'), `by name, "crane" is first Stephen Crane: ${writer!.join(' | ')}`);
  const [bird] = labelPhrases(crane, wordnet, { ...LEVELS, wnids: ['n02012849'] });
  assert.deepEqual(bird, ['crane', 'crane, a kind of wading bird', 'crane, a kind of aquatic bird']);
  const [machine] = labelPhrases(crane, wordnet, { ...LEVELS, wnids: ['n03126707'] });
  assert.deepEqual(machine, ['crane', 'crane, a kind of lifting device', 'crane, a kind of device']);
  // A null WNID falls back to the names; synonyms only (level 0) ignores WNIDs.
  assert.deepEqual(labelPhrases([['crane'], ['tabby', 'tabby cat']], wordnet, { ...LEVELS, wnids: ['n02012849', null] })[1],
    labelPhrases([['tabby', 'tabby cat']], wordnet, LEVELS)[0]);
  assert.deepEqual(labelPhrases(crane, wordnet, { hypernymLevels: 0, wnids: ['nonsense'] }), crane);
});

test('a WNID WordNet lacks, or a malformed one, is an error naming the class', () => {
  // n01440764 is the tench: no sense of "crane" lies there.
  assert.throws(() => labelPhrases([['tabby'], ['crane']], wordnet, { ...LEVELS, wnids: [null, 'n01440764'] }),
    /^Error: class 1 \(crane\): WordNet id n01440764 is not in WordNet/);
  assert.throws(() => labelPhrases([['crane']], wordnet, { ...LEVELS, wnids: ['02012849'] }), /class 0 \(crane\): "02012849" is not a WordNet id/);
  assert.throws(() => labelPhrases([['crane']], wordnet, { ...LEVELS, wnids: [] }), /0 WordNet ids were given for 1 classes/);
});

test('Tiny ImageNet by WNID: 25 of its 202 classes change sense (crane the machine, not the writer)', (t) => {
  const folder = join(dataRoot(), 'tiny-imagenet');
  const wnids = JSON.parse(readFileSync(join(folder, 'wnids.json'), 'utf8')) as string[];
  const byName = resolveDataset('tiny-imagenet', 'train', 'clip', 'wordnet');
  const byWnid = resolveDataset('tiny-imagenet', 'train', 'clip', 'wordnet', 'by-wnid');
  const names = (s: typeof byName) => (s.caption as { names: string[][] }).names;
  assert.deepEqual(names(resolveDataset('tiny-imagenet', 'train', 'clip', 'wordnet', 'by-name')), names(byName), 'by-name is the default');
  const crane = wnids.indexOf('n03126707');
  assert.ok(names(byName)[crane]!.includes('crane, a kind of writer'));
  assert.ok(names(byWnid)[crane]!.includes('crane, a kind of lifting device'), names(byWnid)[crane]!.join(' | '));
  const synonyms = JSON.parse(readFileSync(join(folder, 'synonyms.json'), 'utf8')) as string[][];
  const { indices, examples } = changed(synonyms, wnids);
  t.diagnostic(`Tiny ImageNet: ${indices.length} of ${wnids.length} classes change sense, e.g. ${examples.slice(0, 6).join('; ')}`);
  assert.equal(wnids.length, 202);
  assert.equal(indices.length, 25);
  assert.deepEqual(indices.filter((k) => JSON.stringify(names(byName)[k]) !== JSON.stringify(names(byWnid)[k])), indices);
  // A recipe's data source carries the choice to the loader.
  const [source] = loaderSources([{ dataset: 'tiny-imagenet:train', weight: 1, naming: 'wordnet', senses: 'by-wnid' }]);
  assert.deepEqual((source!.caption as { names: string[][] }).names[crane], names(byWnid)[crane]);
});

test('ImageNet-1k by WNID: 104 of its 1000 classes change phrases (109 change synset)', (t) => {
  const { synonyms, wnids } = imagenetClasses();
  const { indices, examples } = changed(synonyms, wnids);
  t.diagnostic(`ImageNet-1k: ${indices.length} of ${wnids.length} classes change phrases, e.g. ${examples.slice(0, 6).join('; ')}`);
  assert.equal(indices.length, 104);
  const synsets = wordnet.synsetsOfWnids(wnids, synonyms);
  const moved = synonyms.filter((names, k) => wordnet.synsetOfSynonyms(names)?.offset !== synsets[k]!.offset).length;
  assert.equal(moved, 109);
  const bird = wnids.indexOf('n02012849');
  assert.ok(labelPhrases([synonyms[bird]!], wordnet, { ...LEVELS, wnids: [wnids[bird]!] })[0]!.includes('crane, a kind of wading bird'));
});

test('the opt-in is validated, and no committed recipe or the tokenizer corpus changes', () => {
  const base = RECIPES['mnv2-hyperclip-lit']!;
  const withSource = (extra: object): TrainConfig => ({ ...structuredClone(base), data: [{ dataset: 'tiny-imagenet:train', weight: 1, naming: 'wordnet', ...extra }] });
  assert.doesNotThrow(() => validateTrainConfig(withSource({ senses: 'by-wnid' })));
  assert.throws(() => validateTrainConfig(withSource({ senses: 'by-synset' })), /^Error: data source tiny-imagenet:train: senses must be "by-name" or "by-wnid", got "by-synset"$/);
  assert.throws(() => validateTrainConfig(withSource({ naming: 'synonyms', senses: 'by-wnid' })), /senses applies to naming "wordnet"/);
  assert.throws(() => validateTrainConfig({ ...structuredClone(base), distill: { ...base.distill!, senses: 'wnid' as never } }), /^Error: distill.senses must be "by-name" or "by-wnid", got "wnid"$/);
  assert.throws(() => resolveDataset('tiny-imagenet', 'train', 'clip', 'synonyms', 'by-wnid'), /senses "by-wnid" applies to naming "wordnet"/);
  for (const [name, recipe] of Object.entries(RECIPES)) {
    assert.equal(recipe.distill?.senses, undefined, name);
    for (const s of recipe.data) assert.equal(s.senses, undefined, `${name}: ${s.dataset}`);
  }
  // wordnet-8k (models/tokenizers) was trained from exactly these 4468 texts.
  const texts = wordnetNameTexts();
  assert.equal(texts.length, 4468);
  assert.equal(createHash('sha256').update(texts.join('\n')).digest('hex'), '517f61d2a2c0d43f638747d3541c2708e00ff384e19f35700d0c43275e07fd70');
});
