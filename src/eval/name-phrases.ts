// Class names expanded into WordNet phrases before templating (K-LITE
// style): "cat" -> "cat", "cat, a kind of feline", "cat, a kind of
// carnivore", the phrases the shipped model's captions and distillation
// prompts were built from (src/data/label-phrases.ts). A class embedding
// is then the mean over every (template, phrase) prompt.
//
// Which sense of a name the hypernyms come from: 'wordnet' takes WordNet's
// first (most frequent) noun sense, often not the one images show ("tiger, a
// kind of person", "seal" the wax); 'wordnet-imagenet' takes the first sense
// that is an ImageNet-1k class or lies above one (the classes the shipped
// image encoder was pretrained on), the first sense where none does.
import { labelPhrases } from '../data/label-phrases.js';
import { imagenetClasses } from '../data/imagenet-classes.js';
import { WordNet, type Synset } from '../data/wordnet.js';
import { ImagenetHierarchy } from './wordnet-lookup.js';

/**
 * none: the class names alone (every committed figure); wordnet: each name
 * and its hypernym phrases, from its first sense; wordnet-imagenet: the same
 * phrases from its first sense that reaches ImageNet-1k.
 */
export type NamePhrases = 'none' | 'wordnet' | 'wordnet-imagenet';
export const NAME_PHRASES: readonly NamePhrases[] = ['none', 'wordnet', 'wordnet-imagenet'];

/** Hypernym levels named, nearest first: as in the captions the shipped model was trained on. */
export const NAME_PHRASE_LEVELS = 2;

/** A NamePhrases, or one line naming `flag` and the values it takes. */
export function checkNamePhrases(value: unknown, flag = '--name-phrases'): NamePhrases {
  if (!NAME_PHRASES.includes(value as NamePhrases)) {
    throw new Error(`${flag} must be ${NAME_PHRASES.slice(0, -1).join(', ')} or ${NAME_PHRASES.at(-1)}, got ${JSON.stringify(value)}`);
  }
  return value as NamePhrases;
}

/**
 * Which rule chose a name's sense. imagenet: its first sense that is an
 * ImageNet-1k class's synset or above one; first: its first sense (no sense
 * reaches ImageNet, or the mode is 'wordnet'); none: WordNet does not know it.
 */
export type SenseRule = 'imagenet' | 'first' | 'none';

export interface NameSense {
  /** The sense its hypernym phrases come from; null when WordNet does not know the name. */
  synset: Synset | null;
  rule: SenseRule;
}

/**
 * Per name, its FIRST WordNet noun sense (WordNet's most frequent one;
 * "maple tree" and "maple_tree" are looked up as WordNet's index writes them,
 * in any case): the sense 'wordnet' names.
 */
export function firstSenses(names: readonly string[], wordnet: WordNet): NameSense[] {
  return names.map((name) => {
    const synset = wordnet.synsetOfSynonyms([name]);
    return { synset, rule: synset === null ? 'none' : 'first' };
  });
}

/**
 * Per name, among its WordNet noun senses in WordNet's order, the first in
 * `reach` (synset offsets: ImagenetHierarchy.atOrAbove()); its first sense
 * when none is (as firstSenses).
 */
export function imagenetSenses(names: readonly string[], wordnet: WordNet, reach: ReadonlySet<number>): NameSense[] {
  return names.map((name) => {
    const synset = wordnet.nounSynsets(name).find((s) => reach.has(s.offset));
    return synset === undefined ? firstSenses([name], wordnet)[0]! : { synset, rule: 'imagenet' };
  });
}

const reachOf = new WeakMap<WordNet, ReadonlySet<number>>();

/** The synsets at or above ImageNet-1k's classes (the pretrained networks' label list), computed once per WordNet. */
export function imagenetReach(wordnet: WordNet): ReadonlySet<number> {
  let reach = reachOf.get(wordnet);
  if (reach === undefined) {
    reach = new ImagenetHierarchy(wordnet, imagenetClasses()).atOrAbove();
    reachOf.set(wordnet, reach);
  }
  return reach;
}

/** The sense each name's phrases come from under `mode`. */
export function nameSenses(names: readonly string[], mode: Exclude<NamePhrases, 'none'>, wordnet: WordNet): NameSense[] {
  return mode === 'wordnet' ? firstSenses(names, wordnet) : imagenetSenses(names, wordnet, imagenetReach(wordnet));
}

/**
 * Per name: the name as given, then "<name>, a kind of <hypernym>" for up to
 * `levels` hypernyms of its FIRST WordNet noun sense (firstSenses), a
 * hypernym word equal to the name left out. A name WordNet does not know
 * keeps only itself. What --name-phrases wordnet prompts.
 */
export function wordnetNamePhrases(names: readonly string[], wordnet: WordNet, levels = NAME_PHRASE_LEVELS): string[][] {
  return labelPhrases(names.map((name) => [name]), wordnet, { hypernymLevels: levels });
}

/** The phrases of wordnetNamePhrases, from the given sense of each name instead of its first. */
export function sensePhrases(names: readonly string[], senses: readonly NameSense[], wordnet: WordNet, levels = NAME_PHRASE_LEVELS): string[][] {
  return labelPhrases(names.map((name) => [name]), wordnet, { hypernymLevels: levels, synsets: senses.map((s) => s.synset) });
}

/**
 * The phrases `mode` gives each name; null for 'none' (the names alone, as
 * before). Without `wordnet`, WordNet.shared() (read once per process).
 */
export function namePhrases(names: readonly string[], mode: NamePhrases, wordnet?: WordNet): string[][] | null {
  const checked = checkNamePhrases(mode, 'name phrases');
  if (checked === 'none') return null;
  const source = wordnet ?? WordNet.shared();
  if (checked === 'wordnet') return wordnetNamePhrases(names, source);
  return sensePhrases(names, nameSenses(names, checked, source), source);
}
