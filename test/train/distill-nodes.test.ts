// WordNet nodes as distillation classes: which synsets become nodes, that a
// node task's entries never share an ImageNet class, and that its targets are
// the teacher's mass under each entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, noGrad, tensor } from '../../src/engine/index.js';
import { createRng } from '../../src/data/random.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import type { Synset, WordNet } from '../../src/data/wordnet.js';
import { LabelClassifier } from '../../src/models/label-classifier.js';
import { HeadDistillation } from '../../src/train/distill.js';
import { distillNodes, drawNodeTask, type DistillNodes } from '../../src/train/distill-nodes.js';
import { RECIPES, resolveTrainConfig } from '../../src/train/recipes.js';
import { tinyModel } from '../models/helpers.js';

// Six classes (synsets 1-6) under a small hierarchy:
//   10 "canine" over {0, 1}; 11 "canid" over {0, 1} (the same classes: merged);
//   20 "carnivore" over {0, 1, 2}; 30 "animal" over {0..5} (too many);
//   40 "lonely" over {3} (one class: no node); 50 "goose" over {4, 5} (a held-out word).
const WORDS: Record<number, string[]> = { 10: ['canine'], 11: ['canid', 'Canine'], 20: ['carnivore'], 30: ['animal'], 40: ['lonely'], 50: ['goose', 'Anser'] };
const fakeWordNet = { synset: (o: number): Synset => ({ offset: o, words: WORDS[o] ?? [`class${o}`], gloss: '', hypernyms: [], partMeronyms: [] }) } as unknown as WordNet;
const ANCESTORS = [
  new Set([1, 10, 11, 20, 30]), new Set([2, 10, 11, 20, 30]), new Set([3, 20, 30]),
  new Set([4, 30, 40]), new Set([5, 30, 50]), new Set([6, 30, 50]),
];
const CLASS_SYNSETS = [1, 2, 3, 4, 5, 6];

test('nodes: two to maxMembers allowed classes, same-class synsets merged, held-out words and ImageNet classes never a node', () => {
  const nodes = distillNodes(fakeWordNet, ANCESTORS, CLASS_SYNSETS, [0, 1, 2, 3, 4, 5], ['Goose'], { maxMembers: 4 });
  assert.deepEqual(nodes.members, [[0, 1], [0, 1, 2]]);
  assert.deepEqual(nodes.names, [['canine', 'canid'], ['carnivore']]);
  assert.deepEqual(nodes.nodesOfClass, [[0, 1], [0, 1], [1], [], [], []]);
  // A class that is not allowed (held out) is no node's member: "carnivore" then covers {0, 2} only.
  const without = distillNodes(fakeWordNet, ANCESTORS, CLASS_SYNSETS, [0, 2, 3, 4, 5], [], { maxMembers: 6 });
  assert.deepEqual(without.members, [[0, 2], [0, 2, 3, 4, 5], [4, 5]]);
  assert.deepEqual(without.names, [['carnivore'], ['animal'], ['goose', 'anser']]);
});

test('a node task never holds two entries sharing a class, and covers the first image\'s top class', () => {
  const nodes = distillNodes(fakeWordNet, ANCESTORS, CLASS_SYNSETS, [0, 1, 2, 3, 4, 5], [], { maxMembers: 4 });
  const rng = createRng(3);
  let sawNode = false, sawClass = false;
  for (let draw = 0; draw < 200; draw++) {
    const top = [draw % 6, (draw * 5) % 6];
    const entries = drawNodeTask(rng, nodes, [0, 1, 2, 3, 4, 5], top, 4);
    const covered = entries.flatMap((e) => (e.kind === 'class' ? [e.index] : nodes.members[e.index]!));
    assert.equal(new Set(covered).size, covered.length, `draw ${draw}: ${JSON.stringify(entries)}`);
    assert.ok(covered.includes(top[0]!), `draw ${draw}: top class ${top[0]} not covered`);
    assert.ok(entries.length <= 4 && entries.length >= 2);
    sawNode ||= entries.some((e) => e.kind === 'node');
    sawClass ||= entries.some((e) => e.kind === 'class');
  }
  assert.ok(sawNode && sawClass, 'both kinds of entry are drawn');
});

test('node-task targets are the teacher\'s probability mass under each entry, renormalised over the task', () => {
  const tokenizer = Tokenizer.load('wordnet-8k');
  const { model } = tinyModel({ image: { family: 'mobilenetv1' as const, widthMultiplier: 0.25, imageSize: 32 }, text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken } });
  const teacher = new LabelClassifier(model.imageEncoder, 6);
  const nodes: DistillNodes = distillNodes(fakeWordNet, ANCESTORS, CLASS_SYNSETS, [0, 1, 2, 3, 4, 5], [], { maxMembers: 4 });
  const names = CLASS_SYNSETS.map((o) => [`class${o}`]);
  const distill = new HeadDistillation(teacher, { names, allowed: [0, 1, 2, 3, 4, 5], templates: ['a photo of a {}.'], nodes },
    { teacher: 'test', weight: 1, classesPerTask: 3, temperature: 2, nodeTasks: 1 }, tokenizer, 5);
  const logits = tensor(Float32Array.from([3, 1, 0, -1, 2, 0.5, 0, 0, 4, 1, -2, 1]), [2, 6]);
  const probs = noGrad(() => F.softmax(logits.div(2), -1)).toArray() as number[];
  for (let draw = 0; draw < 20; draw++) {
    const { prompts, targets } = distill.drawTaskFor(logits);
    const rows = targets.toArray() as number[];
    const K = prompts.length;
    assert.deepEqual(targets.shape, [2, K]);
    // Recover each entry's classes from its prompt, then the expected mass.
    const classesOf = (prompt: string): number[] => {
      const name = /a photo of a (.+)\./.exec(prompt)![1]!;
      const c = names.findIndex((n) => n[0] === name);
      return c >= 0 ? [c] : nodes.members[nodes.names.findIndex((n) => n.includes(name))]!;
    };
    const entryClasses = prompts.map(classesOf);
    for (let b = 0; b < 2; b++) {
      const mass = entryClasses.map((cs) => cs.reduce((s, c) => s + probs[b * 6 + c]!, 0));
      const total = mass.reduce((a, m) => a + m, 0);
      mass.forEach((m, j) => assert.ok(Math.abs(rows[b * K + j]! - m / total) < 1e-5, `draw ${draw} row ${b} entry ${j}: ${rows[b * K + j]} vs ${m / total}`));
    }
  }
});

test('node tasks need the nodes', () => {
  const tokenizer = Tokenizer.load('wordnet-8k');
  const { model } = tinyModel({ image: { family: 'mobilenetv1' as const, widthMultiplier: 0.25, imageSize: 32 }, text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken } });
  const teacher = new LabelClassifier(model.imageEncoder, 6);
  assert.throws(() => new HeadDistillation(teacher, { names: [['a'], ['b'], ['c'], ['d'], ['e'], ['f']], allowed: [0, 1, 2, 3, 4, 5], templates: ['{}'] },
    { teacher: 'test', weight: 1, classesPerTask: 3, temperature: 1, nodeTasks: 0.5 }, tokenizer, 0), /nodeTasks needs the WordNet nodes/);
});

test('distill.nodeTasks and unknown distill fields are checked, each with one line', () => {
  const withDistill = (extra: Record<string, unknown>) => resolveTrainConfig('mnv1-025-hyperclip-lit', undefined, { distill: { ...RECIPES['mnv1-025-hyperclip-lit']!.distill!, ...extra } as never });
  assert.equal(withDistill({ nodeTasks: 0.5 }).distill!.nodeTasks, 0.5);
  assert.throws(() => withDistill({ nodeTasks: 1.5 }), /distill\.nodeTasks is the share of tasks over WordNet nodes, a number in \[0, 1\]; got 1\.5/);
  assert.throws(() => withDistill({ nodeTasks: 'half' }), /distill\.nodeTasks .* got "half"/);
  assert.throws(() => withDistill({ nodeTask: 0.5 }), /distill: unknown field "nodeTask"; known: teacher, weight, classesPerTask, temperature, logitScale, senses, warmStart, nodeTasks/);
});
