// Zero-shot by WordNet alone: a class name is looked up in WordNet, and its
// score for an image is the highest probability that a pretrained ImageNet
// head gives any ImageNet-1k class whose synset is the name's synset or one
// of its hyponyms. No text encoder, no training: the baseline that says how
// much of a "zero-shot" score an ImageNet-pretrained encoder plus a
// dictionary already buys.
import type { ImagenetClasses } from '../data/imagenet-classes.js';
import type { WordNet } from '../data/wordnet.js';
import { topkRows } from './scoring.js';

/**
 * Which senses of a name count. 'all' (the default): a dataset's class list
 * does not say which sense it means ("mouse" the rodent or the device), and a
 * lookup cannot tell, so every sense may claim ImageNet classes. 'first':
 * WordNet's most frequent sense only (loses e.g. "crane", whose first senses
 * are people).
 */
export type SenseChoice = 'all' | 'first';

export interface NameMapping {
  name: string;
  /** The lemma WordNet knew: the name, or its last word ("aquarium fish" -> "fish"); null when neither. */
  lemma: string | null;
  /** WordNet 3.1 offsets of the senses used. */
  synsets: number[];
  /** ImageNet-1k class indices at or under those senses, ascending. */
  imagenet: number[];
}

/** The WordNet 3.1 synset of each ImageNet class, from its WNID (WordNet.synsetsOfWnids): 1000 distinct synsets in WNID order. */
export function imagenetSynsets(wordnet: WordNet, classes: ImagenetClasses): number[] {
  return wordnet.synsetsOfWnids(classes.wnids, classes.synonyms, 'ImageNet class').map((s) => s.offset);
}

/** ImageNet-1k in WordNet: each class's synset and everything above it. */
export class ImagenetHierarchy {
  readonly synsets: number[];
  /** Per class: its synset and all its hypernyms, instance hypernyms included, transitively (every parent, not just the first). */
  private readonly ancestors: Set<number>[];

  constructor(readonly wordnet: WordNet, classes: ImagenetClasses) {
    this.synsets = imagenetSynsets(wordnet, classes);
    this.ancestors = this.synsets.map((offset) => {
      const seen = new Set<number>([offset]);
      const stack = [offset];
      while (stack.length > 0) {
        for (const parent of wordnet.synset(stack.pop()!).hypernyms) if (!seen.has(parent)) { seen.add(parent); stack.push(parent); }
      }
      return seen;
    });
  }

  private reach: ReadonlySet<number> | undefined;

  /** Every synset that is some class's own or above one (any depth, every parent): the part of WordNet ImageNet-1k reaches. */
  atOrAbove(): ReadonlySet<number> {
    if (this.reach === undefined) {
      const all = new Set<number>();
      for (const above of this.ancestors) for (const offset of above) all.add(offset);
      this.reach = all;
    }
    return this.reach;
  }

  /** Class k's synset and everything above it. */
  ancestorsOf(k: number): ReadonlySet<number> {
    const above = this.ancestors[k];
    if (above === undefined) throw new Error(`no ImageNet class ${k}: there are ${this.ancestors.length}`);
    return above;
  }

  /** ImageNet classes whose synset is one of these or a hyponym of one, ascending. */
  classesUnder(offsets: readonly number[]): number[] {
    return this.ancestors.flatMap((above, k) => (offsets.some((o) => above.has(o)) ? [k] : []));
  }

  /** A class name's senses (lemma lookup, spaces or underscores alike) and the ImageNet classes under them. */
  mapName(name: string, senses: SenseChoice = 'all'): NameMapping {
    const last = name.trim().split(/[\s_]+/).at(-1) ?? '';
    // A compound WordNet lacks ("aquarium fish") is a kind of its head noun.
    const lemma = [name, last].find((l) => l !== '' && this.wordnet.nounSynsets(l).length > 0) ?? null;
    const found = lemma === null ? [] : this.wordnet.nounSynsets(lemma);
    const synsets = (senses === 'first' ? found.slice(0, 1) : found).map((s) => s.offset);
    return { name, lemma, synsets, imagenet: this.classesUnder(synsets) };
  }
}

/**
 * The WordNet synsets above a set of classes: each synset in some class's
 * ancestor set (its own synset and everything above it,
 * ImagenetHierarchy.ancestorsOf), mapped to the classes under it in the
 * order given. Synsets in `classSynsets` (classes' own synsets) are left
 * out: a class is never a node above others. Callers filter and order the
 * result themselves.
 */
export function synsetsAbove(classes: readonly number[], ancestorsOf: (k: number) => ReadonlySet<number>, classSynsets: Iterable<number>): Map<number, number[]> {
  const isClass = new Set(classSynsets);
  const under = new Map<number, number[]>();
  for (const k of classes) {
    for (const offset of ancestorsOf(k)) {
      if (isClass.has(offset)) continue;
      const list = under.get(offset);
      if (list === undefined) under.set(offset, [k]); else list.push(k);
    }
  }
  return under;
}

/**
 * probs: [rows, 1000] ImageNet probabilities (softmax). A class scores the
 * highest probability among its mapped ImageNet classes, 0 when it has none;
 * returns each row's k best classes that scored above 0, best first (the
 * lower index on ties), -1 filling the rest: [rows * k], for
 * ClassificationTally (src/eval/scoring.ts), which counts a row without a
 * class wrong.
 */
export function lookupRanking(probs: ArrayLike<number>, rows: number, mapped: readonly (readonly number[])[], k: number): Int32Array {
  const width = probs.length / rows;
  if (!Number.isInteger(width)) throw new Error(`${probs.length} probabilities do not split into ${rows} rows`);
  const K = mapped.length;
  const scores = new Float64Array(rows * K); // [rows, K]
  for (let r = 0; r < rows; r++) {
    mapped.forEach((classes, c) => {
      for (const i of classes) scores[r * K + c] = Math.max(scores[r * K + c]!, probs[r * width + i]!);
    });
  }
  const ranked = topkRows(scores, rows, k);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) if (!(scores[r * K + ranked[r * k + j]!]! > 0)) ranked[r * k + j] = -1;
  }
  return ranked;
}
