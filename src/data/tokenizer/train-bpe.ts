import { END_OF_WORD } from './byte-alphabet.js';
import { cleanText, pretokenize } from './clean-text.js';
import { mergeAll, pairKey, splitKey } from './merge-table.js';
import { TOKENIZER_FORMAT, TOKENIZER_FORMAT_VERSION, type TokenizerFile } from './tokenizer-format.js';
import { baseVocabulary, FIRST_MERGE_ID, wordToByteIds } from './vocabulary.js';
import { PairHeap } from './pair-heap.js';

export interface TrainBpeOptions {
  /** Total vocabulary, special tokens and the 512 byte symbols included. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged (default 2); training may then stop below vocabSize. */
  minFrequency?: number;
  contextLength?: number;
  name?: string;
  /** Called every few hundred merges: (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

/** Counts how often each pre-tokenised word occurs: BPE then works on unique words only. */
export function countWords(texts: Iterable<string>): { counts: Map<string, number>; texts: number } {
  const counts = new Map<string, number>();
  let n = 0;
  for (const text of texts) {
    n++;
    for (const word of pretokenize(cleanText(text))) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return { counts, texts: n };
}

/** Learns merges from texts: repeatedly fuse the most frequent adjacent pair (ties: lowest ids first). */
export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): TokenizerFile {
  const { vocabSize, minFrequency = 2, contextLength = 32, name = 'bpe' } = options;
  const vocab = baseVocabulary();
  if (!Number.isInteger(vocabSize) || vocabSize < vocab.length) {
    throw new Error(`vocabSize must be an integer of at least ${vocab.length} (special tokens and 512 byte symbols), got ${vocabSize}`);
  }
  if (!Number.isInteger(contextLength) || contextLength < 2) throw new Error(`contextLength must be an integer of at least 2, got ${contextLength}`);
  const { counts, texts: textCount } = countWords(texts);
  const corpus = new WordCorpus(counts);
  const merges: string[] = [];
  const wanted = vocabSize - vocab.length;
  while (merges.length < wanted) {
    const best = corpus.bestPair(minFrequency);
    if (best === undefined) break;
    const [left, right] = splitKey(best);
    corpus.merge(best, FIRST_MERGE_ID + merges.length);
    merges.push(`${vocab[left]} ${vocab[right]}`);
    vocab.push(vocab[left] + vocab[right]);
    if (merges.length % 250 === 0) options.onProgress?.(merges.length, wanted);
  }
  options.onProgress?.(merges.length, wanted);
  return {
    format: TOKENIZER_FORMAT,
    version: TOKENIZER_FORMAT_VERSION,
    name,
    contextLength,
    training: { texts: textCount, uniqueWords: counts.size, minFrequency, requestedVocabSize: vocabSize, endOfWord: END_OF_WORD },
    vocab,
    merges,
  };
}

/** Unique words as symbol ids, with pair counts kept up to date merge by merge. */
class WordCorpus {
  private readonly words: number[][] = [];
  private readonly freqs: number[] = [];
  private readonly pairCounts = new Map<number, number>();
  /** Words that contained a pair at some point; may hold stale entries, which merge() tolerates. */
  private readonly wordsWithPair = new Map<number, Set<number>>();
  private readonly heap = new PairHeap();

  constructor(counts: Map<string, number>) {
    for (const [word, freq] of counts) {
      const index = this.words.length;
      const symbols = wordToByteIds(word);
      this.words.push(symbols);
      this.freqs.push(freq);
      for (let i = 0; i + 1 < symbols.length; i++) this.addPair(pairKey(symbols[i], symbols[i + 1]), freq, index);
    }
    for (const [key, count] of this.pairCounts) this.heap.push(count, key);
  }

  bestPair(minFrequency: number): number | undefined {
    for (;;) {
      const top = this.heap.pop();
      if (top === undefined) return undefined;
      // The heap keeps outdated entries; only one matching the live count is real.
      if (this.pairCounts.get(top.key) !== top.count) continue;
      return top.count >= minFrequency ? top.key : undefined;
    }
  }

  merge(key: number, mergedId: number): void {
    const pair = splitKey(key);
    const changed = new Map<number, number>();
    for (const index of this.wordsWithPair.get(key) ?? []) {
      const before = this.words[index];
      const after = mergeAll(before, mergedId, pair);
      if (after.length === before.length) continue;
      const freq = this.freqs[index];
      for (let i = 0; i + 1 < before.length; i++) bump(changed, pairKey(before[i], before[i + 1]), -freq);
      for (let i = 0; i + 1 < after.length; i++) {
        const k = pairKey(after[i], after[i + 1]);
        bump(changed, k, freq);
        this.indexPair(k, index);
      }
      this.words[index] = after;
    }
    this.pairCounts.delete(key);
    this.wordsWithPair.delete(key);
    for (const [k, delta] of changed) {
      if (delta === 0 || k === key) continue;
      const count = (this.pairCounts.get(k) ?? 0) + delta;
      if (count > 0) {
        this.pairCounts.set(k, count);
        this.heap.push(count, k);
      } else {
        this.pairCounts.delete(k);
      }
    }
  }

  private addPair(key: number, freq: number, index: number): void {
    this.pairCounts.set(key, (this.pairCounts.get(key) ?? 0) + freq);
    this.indexPair(key, index);
  }

  private indexPair(key: number, index: number): void {
    let set = this.wordsWithPair.get(key);
    if (set === undefined) this.wordsWithPair.set(key, (set = new Set()));
    set.add(index);
  }
}

function bump(map: Map<number, number>, key: number, delta: number): void {
  map.set(key, (map.get(key) ?? 0) + delta);
}
