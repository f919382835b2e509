/**
 * The ordered merges of a BPE vocabulary, applied to one word at a time.
 * Merge i turns the adjacent pair (left, right) into token firstMergeId + i;
 * a lower id means an earlier (more frequent at training time) merge.
 */
export class MergeTable {
  private readonly mergedIdByPair = new Map<number, number>();

  constructor(private readonly pairs: readonly (readonly [number, number])[], readonly firstMergeId: number) {
    pairs.forEach(([left, right], i) => this.mergedIdByPair.set(pairKey(left, right), firstMergeId + i));
  }

  get size(): number {
    return this.pairs.length;
  }

  /** Merges greedily, earliest merge first, until no adjacent pair has a merge. */
  apply(symbols: number[]): number[] {
    let word = symbols;
    while (word.length > 1) {
      let best = -1;
      for (let i = 0; i + 1 < word.length; i++) {
        const merged = this.mergedIdByPair.get(pairKey(word[i], word[i + 1]));
        if (merged !== undefined && (best < 0 || merged < best)) best = merged;
      }
      if (best < 0) break;
      word = mergeAll(word, best, this.pairs[best - this.firstMergeId]);
    }
    return word;
  }
}

// Ids stay far below 2^21, so two of them pack exactly into one double.
const PAIR_SHIFT = 2 ** 21;

export function pairKey(left: number, right: number): number {
  return left * PAIR_SHIFT + right;
}

export function splitKey(key: number): [number, number] {
  const left = Math.floor(key / PAIR_SHIFT);
  return [left, key - left * PAIR_SHIFT];
}

/** Replaces every non-overlapping occurrence of pair, left to right, by merged. */
export function mergeAll(word: readonly number[], merged: number, [left, right]: readonly [number, number]): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out.push(merged);
      i++;
    } else {
      out.push(word[i]);
    }
  }
  return out;
}
