// WordNet nodes above ImageNet's classes as distillation classes: a task may
// name "dog" or "vehicle" as well as "tabby cat", and its teacher target is
// the head's probability mass under each node (the sum over the ImageNet
// classes it covers). Users type generic names (CIFAR's "bird", "truck"); a
// text side distilled on ImageNet's leaves alone meets them only inside
// hypernym phrases ("tabby, a kind of cat"). The WordNet lookup baseline
// takes the max over a name's ImageNet hyponyms at test time; this teaches
// the text side the same structure, so that it also reaches names the lookup
// cannot map.
import { randomIndex, type Rng } from '../data/random.js';
import type { WordNet } from '../data/wordnet.js';
import { synsetsAbove } from '../eval/wordnet-lookup.js';

export interface DistillNodes {
  /** Per node, the names a prompt may use (the synset's lemmas; merged over synsets covering the same classes). */
  names: string[][];
  /** Per node, the allowed ImageNet classes under it, ascending (at least 2). */
  members: number[][];
  /** Per ImageNet class, the nodes above it (indices into names/members). */
  nodesOfClass: number[][];
}

export interface DistillNodeOptions {
  /** Nodes covering more allowed classes than this are too abstract to be a name anyone types ("entity", "whole"). */
  maxMembers: number;
}

/**
 * The WordNet synsets above the allowed ImageNet classes that cover at least
 * two of them and at most options.maxMembers. `ancestors[k]` is class k's
 * synset and all its hypernyms (ImagenetHierarchy.ancestorsOf). A synset
 * that is itself an ImageNet class, or has one of `heldOutNames` among its
 * words (any case), never becomes a node: held-out names never enter
 * distillation.
 */
export function distillNodes(wordnet: WordNet, ancestors: readonly ReadonlySet<number>[], classSynsets: readonly number[], allowed: readonly number[], heldOutNames: readonly string[], options: DistillNodeOptions): DistillNodes {
  const heldOutWords = new Set(heldOutNames.map((w) => w.trim().toLowerCase()));
  const under = synsetsAbove(allowed, (k) => ancestors[k]!, classSynsets);
  // Synsets covering the same classes are one node to the teacher ("canine" and "canid").
  const byMembers = new Map<string, { names: Set<string>; members: number[] }>();
  for (const [offset, members] of [...under].sort((a, b) => a[0] - b[0])) {
    if (members.length < 2 || members.length > options.maxMembers) continue;
    const words = wordnet.synset(offset).words.map((w) => w.toLowerCase());
    if (words.some((w) => heldOutWords.has(w))) continue;
    members.sort((a, b) => a - b);
    const key = members.join(',');
    const node = byMembers.get(key) ?? { names: new Set<string>(), members };
    for (const w of words) node.names.add(w);
    byMembers.set(key, node);
  }
  const nodes = [...byMembers.values()];
  const nodesOfClass: number[][] = ancestors.map(() => []);
  nodes.forEach((node, i) => { for (const k of node.members) nodesOfClass[k]!.push(i); });
  return { names: nodes.map((n) => [...n.names]), members: nodes.map((n) => n.members), nodesOfClass };
}

/** One entry of a node task: an ImageNet class (a leaf) or a WordNet node above several. */
export type TaskEntry = { kind: 'class'; index: number } | { kind: 'node'; index: number };

/**
 * Up to k entries whose ImageNet classes are pairwise disjoint, so that the
 * teacher's mass under each is a distribution over the task. First, for each
 * image's top teacher class in turn, the class itself or one of the nodes
 * above it (uniformly); then random entries (a node or an allowed class, half
 * and half) until k are drawn or 50 k draws failed.
 */
export function drawNodeTask(rng: Rng, nodes: DistillNodes, allowed: readonly number[], topClasses: readonly number[], k: number): TaskEntry[] {
  const taken = new Set<number>();
  const chosen: TaskEntry[] = [];
  const seen = new Set<string>();
  const membersOf = (e: TaskEntry): readonly number[] => (e.kind === 'class' ? [e.index] : nodes.members[e.index]!);
  const tryAdd = (e: TaskEntry): void => {
    const key = `${e.kind}:${e.index}`;
    if (seen.has(key)) return;
    const members = membersOf(e);
    if (members.some((c) => taken.has(c))) return;
    seen.add(key);
    for (const c of members) taken.add(c);
    chosen.push(e);
  };
  for (const top of topClasses) {
    if (chosen.length >= k) break;
    const above = nodes.nodesOfClass[top] ?? [];
    const pick = randomIndex(rng, above.length + 1);
    tryAdd(pick === above.length ? { kind: 'class', index: top } : { kind: 'node', index: above[pick]! });
  }
  for (let attempt = 0; attempt < 50 * k && chosen.length < k; attempt++) {
    const node = nodes.members.length > 0 && randomIndex(rng, 2) === 0;
    tryAdd(node ? { kind: 'node', index: randomIndex(rng, nodes.members.length) } : { kind: 'class', index: allowed[randomIndex(rng, allowed.length)]! });
  }
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = randomIndex(rng, i + 1);
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  return chosen;
}
