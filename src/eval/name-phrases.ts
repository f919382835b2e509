// Class names expanded into WordNet phrases before templating (K-LITE
// style): "cat" -> "cat", "cat, a kind of feline", "cat, a kind of
// carnivore", the phrases the shipped model's captions and distillation
// prompts were built from (src/data/label-phrases.ts). A class embedding
// is then the mean over every (template, phrase) prompt.
import { labelPhrases } from '../data/label-phrases.js';
import { WordNet } from '../data/wordnet.js';

/** none: the class names alone (every committed figure); wordnet: each name and its hypernym phrases. */
export type NamePhrases = 'none' | 'wordnet';
export const NAME_PHRASES: readonly NamePhrases[] = ['none', 'wordnet'];

/** Hypernym levels named, nearest first: as in the captions the shipped model was trained on. */
export const NAME_PHRASE_LEVELS = 2;

/** A NamePhrases, or one line naming `flag` and the values it takes. */
export function checkNamePhrases(value: unknown, flag = '--name-phrases'): NamePhrases {
  if (!NAME_PHRASES.includes(value as NamePhrases)) {
    throw new Error(`${flag} must be ${NAME_PHRASES.join(' or ')}, got ${JSON.stringify(value)}`);
  }
  return value as NamePhrases;
}

/**
 * Per name: the name as given, then "<name>, a kind of <hypernym>" for up to
 * `levels` hypernyms of its FIRST WordNet noun sense (WordNet's most frequent
 * one; "maple tree" and "maple_tree" are looked up as WordNet's index writes
 * them, in any case), a hypernym word equal to the name left out. A name
 * WordNet does not know keeps only itself.
 */
export function wordnetNamePhrases(names: readonly string[], wordnet: WordNet, levels = NAME_PHRASE_LEVELS): string[][] {
  return labelPhrases(names.map((name) => [name]), wordnet, { hypernymLevels: levels });
}

/** The phrases `mode` gives each name; null for 'none' (the names alone, as before). Loads WordNet when none is given. */
export function namePhrases(names: readonly string[], mode: NamePhrases, wordnet?: WordNet): string[][] | null {
  if (checkNamePhrases(mode, 'name phrases') === 'none') return null;
  return wordnetNamePhrases(names, wordnet ?? WordNet.load());
}
