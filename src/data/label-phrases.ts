// How a labelled image is named in its captions: any of its class's WordNet
// synonyms, or a phrase that places it under a more common word ("tabby, a
// kind of cat"). The hypernym phrases are what connect fine labels such as
// "moving van" or "lifeboat" to the everyday words zero-shot class lists use
// ("truck", "boat").
import type { Synset, WordNet } from './wordnet.js';

/**
 * Which WordNet sense a class's hypernym phrases come from. 'by-name' (the
 * default, what every committed run used): the sense its synonyms pick
 * (WordNet.synsetOfSynonyms), wrong for some labels ("crane, a kind of
 * writer" for the lifting machine). 'by-wnid': the synset its WordNet id
 * names, for datasets that give one per class (ImageNet-1k, Tiny ImageNet).
 */
export type LabelSenses = 'by-name' | 'by-wnid';
export const LABEL_SENSES: readonly LabelSenses[] = ['by-name', 'by-wnid'];

/** Throws one line unless `value` is a LabelSenses; `field` names it in the message. */
export function checkLabelSenses(value: unknown, field: string): asserts value is LabelSenses {
  if (!LABEL_SENSES.includes(value as LabelSenses)) {
    throw new Error(`${field} must be ${LABEL_SENSES.map((s) => JSON.stringify(s)).join(' or ')}, got ${JSON.stringify(value)}`);
  }
}

export interface LabelPhraseOptions {
  /** Hypernym levels to name, nearest first (0: synonyms only). */
  hypernymLevels: number;
  /**
   * Per class, its WordNet id ("n03126707", a WordNet 3.0 offset as ImageNet
   * gives it) or null. A class with one takes its synset, and so its
   * hypernyms, from it (an id WordNet lacks is an error); the others, and
   * every class when this is absent, from their names.
   */
  wnids?: readonly (string | null)[];
  /**
   * Per class, the synset its hypernyms come from, chosen by the caller (e.g.
   * src/eval/name-phrases.ts's sense rules); null: none, the synonyms alone.
   * Not with `wnids`.
   */
  synsets?: readonly (Synset | null)[];
}

/** A genus-species pair such as "Rana catesbeiana": noise to a tokenizer trained on captions. */
const BINOMIAL = /^[A-Z][a-z]+ [a-z]+$/;

/**
 * Per class, the phrases its captions draw from: the usable synonyms (the
 * first always; later Latin binomials dropped) and, per synonym-free hypernym
 * level, "<first synonym>, a kind of <hypernym>".
 */
export function labelPhrases(synonyms: string[][], wordnet: WordNet | null, options: LabelPhraseOptions): string[][] {
  synonyms.forEach((names, k) => { if (names.length === 0) throw new Error(`class ${k} has no name`); });
  if (options.wnids !== undefined && options.wnids.length !== synonyms.length) {
    throw new Error(`${options.wnids.length} WordNet ids were given for ${synonyms.length} classes`);
  }
  if (options.synsets !== undefined && options.synsets.length !== synonyms.length) {
    throw new Error(`${options.synsets.length} synsets were given for ${synonyms.length} classes`);
  }
  if (options.wnids !== undefined && options.synsets !== undefined) throw new Error('give a class\'s WordNet ids or its synsets, not both');
  const byWnid: (Synset | null)[] | null = wordnet === null || options.hypernymLevels === 0 || options.wnids === undefined
    ? null : wordnet.synsetsOfWnids(options.wnids, synonyms);
  return synonyms.map((names, k) => {
    const plain = names.filter((name, i) => i === 0 || !BINOMIAL.test(name));
    if (wordnet === null || options.hypernymLevels === 0) return plain;
    const synset = options.synsets !== undefined ? options.synsets[k] : byWnid?.[k] ?? wordnet.synsetOfSynonyms(names);
    if (synset === null) return plain;
    const own = new Set(plain.map((n) => n.toLowerCase()));
    const kinds = wordnet.hypernymChain(synset, options.hypernymLevels)
      .map((h) => h.words[0])
      .filter((word) => !own.has(word.toLowerCase()))
      .map((word) => `${plain[0]}, a kind of ${word}`);
    return [...plain, ...kinds];
  });
}
