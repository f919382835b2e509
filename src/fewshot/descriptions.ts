// Several short visual descriptions per class, from a JSON file
// ({"class": ["desc", ...]}, as in ../shared/data/descriptors/), from
// WordNet (gloss, hypernyms, synonyms, parts), or none (the class prompts
// alone). Each becomes a sentence naming its class ("a cat, which has a
// tail"), the text the encoder reads.
import { existsSync, readFileSync } from 'node:fs';
import { WordNet, type Synset } from '../data/wordnet.js';

export interface ClassDescriptions {
  classNames: string[];
  /** Sentences per class, in class order; a class may have none (it keeps its class prompt). */
  sentences: string[][];
  /** Where they came from, for reports ("descriptors_cifar100.json", "WordNet 3.1", "class prompts only"). */
  source: string;
  /** One line per fallback taken (a class without descriptions, a WordNet word found only in part). */
  warnings: string[];
}

/** "round shape" -> "apple, which has round shape"; phrases that start with a verb keep it ("which is used for ..."). */
export function describe(className: string, phrase: string): string {
  const text = phrase.trim().replace(/[.\s]+$/, '');
  const first = text.split(/\s+/)[0]!.toLowerCase();
  if (VERB_STARTS.has(first)) return `${className}, which ${first === 'used' ? 'is ' : ''}${text}`;
  return `${className}, which has ${text}`;
}

const VERB_STARTS = new Set(['has', 'have', 'is', 'are', 'can', 'may', 'might', 'often', 'usually', 'typically', 'sometimes', 'used', 'looks', 'lives', 'grows', 'comes', 'shows']);

/** Descriptions for the classes from a JSON file {"class name": ["description", ...]}. */
export function descriptionsFromFile(file: string, classNames: string[]): ClassDescriptions {
  if (!existsSync(file)) throw new Error(`descriptions file not found: ${file} (give a JSON file {"class": ["description", ...]}, wordnet or prompts)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} is not JSON: expected {"class name": ["description", ...]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${file}: expected a JSON object {"class name": ["description", ...]}`);
  const table = new Map<string, unknown>();
  for (const [key, value] of Object.entries(parsed)) table.set(normalName(key), value);
  const warnings: string[] = [];
  const sentences = classNames.map((name) => {
    const value = table.get(normalName(name));
    if (value === undefined) throw new Error(`class "${name}" has no entry in ${file}: add it, or use --descriptions wordnet or prompts`);
    if (!Array.isArray(value) || !value.every((d) => typeof d === 'string')) throw new Error(`${file}: the entry of "${name}" must be a list of strings`);
    const phrases = unique(value.map((d: string) => d.trim()).filter((d) => d !== ''));
    if (phrases.length === 0) warnings.push(`class "${name}" has no descriptions in ${file}: it keeps its class prompt only`);
    return phrases.map((p) => describe(name, p));
  });
  return { classNames, sentences, source: file.split('/').pop()!, warnings };
}

/** No descriptions: every class keeps its class prompt only. */
export function descriptionsFromPrompts(classNames: string[]): ClassDescriptions {
  return { classNames, sentences: classNames.map(() => []), source: 'class prompts only', warnings: [] };
}

const PARTS_PER_CLASS = 6;
const HYPERNYM_DEPTH = 2;
// Parts so general that they say nothing about how a class looks.
const VAGUE_PARTS = new Set(['part', 'section', 'cell', 'body part', 'plant part', 'hood', 'duct', 'vascular system', 'vascular tissue', 'xylem', 'personality']);

/**
 * WordNet descriptions: the first clause of the gloss, the nearest hypernyms,
 * synonyms and parts (the class's own part meronyms, then inherited ones).
 * A name WordNet does not know is looked up by its last word, then its first
 * ("aquarium fish" -> "fish"), with a warning; if neither is known the class
 * keeps its class prompt only.
 */
export function descriptionsFromWordNet(classNames: string[], wordnet: WordNet = WordNet.load()): ClassDescriptions {
  const warnings: string[] = [];
  const sentences = classNames.map((name) => {
    const found = lookUp(wordnet, name);
    if (found === null) {
      warnings.push(`WordNet has no noun "${name}" (nor its first or last word): it keeps its class prompt only`);
      return [];
    }
    if (found.word !== name) warnings.push(`WordNet has no noun "${name}": described as "${found.word}"`);
    return synsetSentences(wordnet, name, found.synset);
  });
  return { classNames, sentences, source: 'WordNet 3.1', warnings };
}

function lookUp(wordnet: WordNet, name: string): { word: string; synset: Synset } | null {
  const words = name.trim().split(/\s+/);
  for (const word of unique([name, words[words.length - 1]!, words[0]!])) {
    const synset = wordnet.nounSynsets(word)[0];
    if (synset !== undefined) return { word, synset };
  }
  return null;
}

function synsetSentences(wordnet: WordNet, name: string, synset: Synset): string[] {
  const subject = withArticle(name);
  const out: string[] = [];
  const gloss = synset.gloss.split(/[;:"]/)[0]!.trim();
  if (gloss !== '') out.push(`${subject}, which is ${/^(a|an|the|any)\s/i.test(gloss) ? gloss : withArticle(gloss)}`);
  const chain = wordnet.hypernymChain(synset, 4);
  for (const h of chain.slice(0, HYPERNYM_DEPTH)) out.push(`${subject}, a kind of ${h.words[0]}`);
  for (const synonym of synset.words.filter((w) => w.toLowerCase() !== name.toLowerCase()).slice(0, 2)) out.push(`${subject}, also called ${withArticle(synonym)}`);
  const parts = unique([synset, ...chain].flatMap((s) => s.partMeronyms.map((o) => wordnet.synset(o).words[0]!)))
    .filter((p) => !VAGUE_PARTS.has(p) && p.toLowerCase() !== name.toLowerCase());
  for (const part of parts.slice(0, PARTS_PER_CLASS)) out.push(`${subject}, which has ${withArticle(part)}`);
  return unique(out);
}

const withArticle = (noun: string): string => `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;

const normalName = (name: string): string => name.trim().toLowerCase().replaceAll('_', ' ').replace(/\s+/g, ' ');

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
