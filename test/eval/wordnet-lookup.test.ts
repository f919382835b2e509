import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot } from '../../src/data/datasets.js';
import { imagenetClasses } from '../../src/data/imagenet-classes.js';
import { WordNet } from '../../src/data/wordnet.js';
import { ImagenetHierarchy, lookupRanking, synsetsAbove } from '../../src/eval/wordnet-lookup.js';

// The ImageNet label file lives in the shared data: missing data skips locally but fails on CI.
const LABELS = join(dataRoot(), 'pretrained', 'imagenet_labels.txt');
const skip = existsSync(LABELS) || process.env.CI === 'true' ? false : `${LABELS} is missing (set HYPERCLIP_DATA)`;

const setup = skip ? null : (() => {
  const classes = imagenetClasses();
  return { classes, hierarchy: new ImagenetHierarchy(WordNet.load(), classes) };
})();
const wnidsOf = (name: string) => setup!.hierarchy.mapName(name).imagenet.map((k) => setup!.classes.wnids[k]);
const indexOf = (synonym: string) => setup!.classes.synonyms.findIndex((s) => s.includes(synonym));

test('every ImageNet class finds its own WordNet 3.1 synset, including the twice-named ones', { skip }, () => {
  const { classes, hierarchy } = setup!;
  assert.equal(new Set(hierarchy.synsets).size, 1000);
  // Two "crane"s (bird, machine) and two "maillot"s: the same words, different synsets.
  const cranes = classes.synonyms.flatMap((s, k) => (s[0] === 'crane' ? [k] : []));
  assert.equal(cranes.length, 2);
  const [bird, machine] = cranes.map((k) => hierarchy.wordnet.synset(hierarchy.synsets[k]!));
  assert.match(bird!.gloss, /bird/);
  assert.match(machine!.gloss, /lift|machine/);
});

test('"dog" maps to the dog breeds, "cat" to the domestic cats', { skip }, () => {
  const dogs = wnidsOf('dog');
  assert.ok(dogs.length > 100, `dog maps to ${dogs.length} classes`);
  assert.ok(dogs.includes('n02099601'), 'golden retriever'); // ImageNet's WNID for golden retriever
  const cats = wnidsOf('cat');
  for (const wnid of ['n02123045', 'n02124075']) assert.ok(cats.includes(wnid), `tabby / Egyptian cat (${wnid})`);
});

test('"deer" maps to no ImageNet-1k class: it has none', { skip }, () => {
  const mapping = setup!.hierarchy.mapName('deer');
  assert.ok(mapping.synsets.length > 0, 'WordNet knows deer');
  assert.deepEqual(mapping.imagenet, []);
});

test('"automobile" maps to car classes, and a compound WordNet lacks falls back to its head noun', { skip }, () => {
  const cars = setup!.hierarchy.mapName('automobile').imagenet;
  for (const name of ['sports car', 'convertible', 'limousine', 'cab']) assert.ok(cars.includes(indexOf(name)), name);
  assert.ok(!cars.includes(indexOf('trailer truck')), 'a truck is not a car');
  const fish = setup!.hierarchy.mapName('aquarium_fish');
  assert.equal(fish.lemma, 'fish');
  assert.ok(fish.imagenet.includes(indexOf('goldfish')));
  assert.equal(setup!.hierarchy.mapName('qwertyuiop').lemma, null);
});

test('synsetsAbove: each ancestor synset maps to the classes under it, in the order given; class synsets are never keys', () => {
  // Classes 0-3 (synsets 1-4); 2 is class 0's synset and above class 1; 4 is class 3's synset and above class 2.
  const ancestors = [new Set([1, 2, 10, 30]), new Set([2, 20, 10, 30]), new Set([3, 4, 20, 30]), new Set([4, 30])];
  const above = synsetsAbove([2, 0, 1], (k) => ancestors[k]!, [1, 2, 3, 4]);
  assert.deepEqual([...above], [[20, [2, 1]], [30, [2, 0, 1]], [10, [0, 1]]]);
  // Only the synsets named as class synsets are skipped: without class 3's, 4 is a synset above class 2.
  assert.deepEqual([...synsetsAbove([2, 0, 1], (k) => ancestors[k]!, [1, 2, 3])].map(([o, m]) => [o, m.length]), [[4, 1], [20, 2], [30, 3], [10, 2]]);
  assert.equal(synsetsAbove([], (k) => ancestors[k]!, []).size, 0);
});

test('synsetsAbove on ImageNet: every synset above the classes covers exactly the classes under it', { skip }, () => {
  const { hierarchy } = setup!;
  const all = hierarchy.synsets.map((_, k) => k);
  const above = synsetsAbove(all, (k) => hierarchy.ancestorsOf(k), hierarchy.synsets);
  for (const s of hierarchy.synsets) assert.equal(above.has(s), false);
  for (const [offset, members] of above) assert.deepEqual(members, hierarchy.classesUnder([offset]), `synset ${offset}`);
  const dog = hierarchy.wordnet.nounSynsets('dog')[0]!.offset;
  assert.ok(above.get(dog)!.length > 100, 'the dog breeds under "dog"');
});

test('scoring: a class scores its best mapped probability; unmapped names never win', () => {
  // Two images over a 4-class "ImageNet"; evaluated classes: A -> {0, 1}, B -> {2}, C -> none.
  const probs = [
    0.3, 0.3, 0.4, 0.0, // B's 0.4 beats A's best single 0.3 (max, not sum)
    0.1, 0.5, 0.2, 0.2,
  ];
  // Ranked best first; C (no mapped class, score 0) is never ranked: -1 fills its place.
  assert.deepEqual([...lookupRanking(probs, 2, [[0, 1], [2], []], 3)], [1, 0, -1, /**/ 0, 1, -1]);
  // An unmapped name scores 0: any mapped class beats it, however unlikely that class.
  assert.deepEqual([...lookupRanking([0.97, 0.01, 0.01, 0.01], 1, [[], [3]], 1)], [1]);
  // Every class scores 0: no prediction (-1), which the tally counts wrong.
  assert.deepEqual([...lookupRanking([0.5, 0.5], 1, [[], []], 2)], [-1, -1]);
  // Tied scores: the lower class index first.
  assert.deepEqual([...lookupRanking([0.2, 0.2, 0.6], 1, [[1], [0], [2]], 3)], [2, 0, 1]);
  assert.throws(() => lookupRanking([1, 2, 3], 2, [[0]], 1), /do not split into 2 rows/);
});
