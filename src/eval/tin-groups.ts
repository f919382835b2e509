// Tiny ImageNet's trainable classes in WordNet groups ("dog", "monkey",
// "truck" instead of 200 leaf classes), for zero-shot at the level of the
// generic names users type (CIFAR's "bird", "truck"). The grouping is fixed by
// rule (GROUPS_RULE), never tuned on results: it reads WordNet and the class
// list only. Held-out classes (src/data/held-out.ts) are in no group and none
// of their names names one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot } from '../data/datasets.js';
import { heldOutClasses, heldOutNames } from '../data/held-out.js';
import { WordNet } from '../data/wordnet.js';
import { ImagenetHierarchy, synsetsAbove } from './wordnet-lookup.js';

/** Members a WordNet node must cover to be a group: "dog", not "entity". */
export const GROUP_MIN_MEMBERS = 2;
export const GROUP_MAX_MEMBERS = 6;

/** The rule, in one line, for reports. */
export const GROUPS_RULE = `WordNet synsets above ${GROUP_MIN_MEMBERS}-${GROUP_MAX_MEMBERS} trainable Tiny ImageNet classes, ` +
  'not a class\'s own synset, no held-out name among their words; taken greedily by member count (descending, then offset), ' +
  'disjoint; every class left over is its own group; named by the synset\'s first word';

/** One trainable class, as the grouping sees it. */
export interface GroupClass {
  /** Its Tiny ImageNet class index. */
  index: number;
  /** Its Tiny ImageNet class name (a leftover class's group name). */
  name: string;
  /** Its WordNet synset offset. */
  synset: number;
  /** Its synset and all its hypernyms, transitively (ImagenetHierarchy.ancestorsOf). */
  ancestors: ReadonlySet<number>;
}

export interface TinGroups {
  /** Per group, its name: distinct. Node groups first (in the order taken), then leftover classes by index. */
  names: string[];
  /** Per group, its Tiny ImageNet class indices, ascending. */
  members: number[][];
  /** Per group, the WordNet synset it stands for: a node, or a leftover class's own synset. */
  synsets: number[];
  /** Tiny ImageNet class index -> group index, for every trainable class. */
  groupOfClass: Map<number, number>;
}

const normalise = (word: string): string => word.trim().toLowerCase().replaceAll('_', ' ').replace(/\s+/g, ' ');

/**
 * The groups of the given classes. Candidate nodes: synsets above at least
 * GROUP_MIN_MEMBERS and at most GROUP_MAX_MEMBERS of them, none of them a
 * given class's own synset, none with a word (any case) among
 * `heldOutNames` (so a held-out class's own synset, whose words are
 * held-out names, is never one either). Taken greedily, largest first (ties: lower offset first),
 * when disjoint from the classes already taken; each class left over is a
 * group of its own, named by its class name. A node is named by its
 * synset's first word (lowercase, underscores as spaces); a name already
 * given passes to the group's next word, else gets its offset in
 * parentheses.
 */
export function tinGroups(classes: readonly GroupClass[], wordsOf: (offset: number) => readonly string[], heldOutNames: readonly string[]): TinGroups {
  const indices = new Set<number>();
  for (const c of classes) {
    if (indices.has(c.index)) throw new Error(`class ${c.index} is given twice`);
    indices.add(c.index);
  }
  const heldOut = new Set(heldOutNames.map(normalise));
  const byIndex = new Map(classes.map((c) => [c.index, c]));
  const under = synsetsAbove(classes.map((c) => c.index), (k) => byIndex.get(k)!.ancestors, classes.map((c) => c.synset));
  const candidates = [...under]
    .filter(([offset, members]) => members.length >= GROUP_MIN_MEMBERS && members.length <= GROUP_MAX_MEMBERS &&
      !wordsOf(offset).some((w) => heldOut.has(normalise(w))))
    .sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  const taken = new Set<number>();
  const groups: { words: string[]; members: number[]; synset: number }[] = [];
  for (const [offset, members] of candidates) {
    if (members.some((k) => taken.has(k))) continue;
    for (const k of members) taken.add(k);
    groups.push({ words: wordsOf(offset).map(normalise), members: [...members].sort((a, b) => a - b), synset: offset });
  }
  for (const c of [...classes].sort((a, b) => a.index - b.index)) {
    if (!taken.has(c.index)) groups.push({ words: [c.name, ...wordsOf(c.synset).map(normalise)], members: [c.index], synset: c.synset });
  }
  const used = new Set<string>();
  const names = groups.map(({ words, synset }) => {
    const first = words[0] ?? `synset ${synset}`;
    const name = words.find((w) => !used.has(normalise(w))) ?? `${first} (${synset})`;
    used.add(normalise(name));
    return name;
  });
  const groupOfClass = new Map<number, number>();
  groups.forEach((g, i) => { for (const k of g.members) groupOfClass.set(k, i); });
  return { names, members: groups.map((g) => g.members), synsets: groups.map((g) => g.synset), groupOfClass };
}

function readJsonList(file: string): unknown[] {
  if (!existsSync(file)) throw new Error(`missing ${file}: the WordNet groups are defined over Tiny ImageNet's classes`);
  const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(value)) throw new Error(`${file} must hold a JSON list`);
  return value;
}

/** The groups of Tiny ImageNet's trainable classes, from its wnids.json, synonyms.json and classnames.json and WordNet. */
export function tinyImagenetGroups(wordnet: WordNet = WordNet.load()): TinGroups {
  const folder = join(dataRoot(), 'tiny-imagenet');
  const wnids = readJsonList(join(folder, 'wnids.json')) as string[];
  const synonyms = readJsonList(join(folder, 'synonyms.json')) as string[][];
  const classnames = (readJsonList(join(folder, 'classnames.json')) as string[]).map((n) => n.replaceAll('_', ' '));
  if (synonyms.length !== wnids.length || classnames.length !== wnids.length) {
    throw new Error(`${folder}: wnids.json, synonyms.json and classnames.json must list the same classes (${wnids.length}, ${synonyms.length}, ${classnames.length})`);
  }
  const hierarchy = new ImagenetHierarchy(wordnet, { wnids, synonyms });
  const { indices, trainable } = heldOutClasses();
  // Tiny ImageNet's class names too: the name a class goes by in its captions and group names.
  const heldOut = [...indices.map((k) => classnames[k]!), ...heldOutNames(indices, synonyms, hierarchy)];
  const classes = trainable.map((k) => ({ index: k, name: classnames[k]!, synset: hierarchy.synsets[k]!, ancestors: hierarchy.ancestorsOf(k) }));
  return tinGroups(classes, (offset) => wordnet.synset(offset).words, heldOut);
}
