// How a labelled image is named in its captions: any of its class's WordNet
// synonyms, or a phrase that places it under a more common word ("tabby, a
// kind of cat"). The hypernym phrases are what connect fine labels such as
// "moving van" or "lifeboat" to the everyday words zero-shot class lists use
// ("truck", "boat").
import type { WordNet } from './wordnet.js';

export interface LabelPhraseOptions {
  /** Hypernym levels to name, nearest first (0: synonyms only). */
  hypernymLevels: number;
}

/** A genus-species pair such as "Rana catesbeiana": noise to a tokenizer trained on captions. */
const BINOMIAL = /^[A-Z][a-z]+ [a-z]+$/;

/**
 * Per class, the phrases its captions draw from: the usable synonyms (the
 * first always; later Latin binomials dropped) and, per synonym-free hypernym
 * level, "<first synonym>, a kind of <hypernym>".
 */
export function labelPhrases(synonyms: string[][], wordnet: WordNet | null, options: LabelPhraseOptions): string[][] {
  return synonyms.map((names, k) => {
    if (names.length === 0) throw new Error(`class ${k} has no name`);
    const plain = names.filter((name, i) => i === 0 || !BINOMIAL.test(name));
    if (wordnet === null || options.hypernymLevels === 0) return plain;
    const synset = wordnet.synsetOfSynonyms(names);
    if (synset === null) return plain;
    const own = new Set(plain.map((n) => n.toLowerCase()));
    const kinds = wordnet.hypernymChain(synset, options.hypernymLevels)
      .map((h) => h.words[0])
      .filter((word) => !own.has(word.toLowerCase()))
      .map((word) => `${plain[0]}, a kind of ${word}`);
    return [...plain, ...kinds];
  });
}
