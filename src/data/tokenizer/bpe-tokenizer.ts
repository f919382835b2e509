// The byte-level BPE tokenizer itself, from a parsed tokenizer file. No Node
// imports: the browser build (hyperclip/web) tokenizes prompts with it;
// Tokenizer (tokenizer.ts) adds reading files from disk.
import { charToByte, END_OF_WORD } from './byte-alphabet.js';
import { cleanText, pretokenize } from './clean-text.js';
import { MergeTable } from './merge-table.js';
import { validateTokenizerFile, type TokenizerFile } from './tokenizer-format.js';
import { END_ID, FIRST_MERGE_ID, PAD_ID, START_ID, wordToByteIds } from './vocabulary.js';

// Captions repeat a small set of words, so BPE runs once per distinct word;
// the cap only guards against unbounded growth on open-ended web text.
const WORD_CACHE_LIMIT = 200_000;

/** Byte-level BPE in the style of CLIP: ids start with the start token, end with the end token, pad with 0. */
export class BpeTokenizer {
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly startToken = START_ID;
  readonly endToken = END_ID;
  readonly padToken = PAD_ID;
  readonly name: string;
  /** The file it was loaded from, when it came from disk. */
  readonly path: string | undefined;
  protected readonly vocab: readonly string[];
  private readonly merges: MergeTable;
  private readonly wordCache = new Map<string, number[]>();

  constructor(file: TokenizerFile, sourcePath?: string) {
    const checked = validateTokenizerFile(file, sourcePath ?? `tokenizer ${file.name ?? ''}`.trim());
    this.vocab = checked.vocab;
    this.vocabSize = checked.vocab.length;
    this.contextLength = checked.contextLength;
    this.name = checked.name;
    this.path = sourcePath;
    const idOf = new Map(checked.vocab.map((token, id) => [token, id]));
    const pairs = checked.merges.map((merge) => {
      const [left, right] = merge.split(' ');
      return [idOf.get(left)!, idOf.get(right)!] as const;
    });
    this.merges = new MergeTable(pairs, FIRST_MERGE_ID);
  }

  /** [contextLength] ids: start, tokens, end, then 0s; too long texts are cut but keep their end token. */
  encode(text: string): Int32Array {
    const out = new Int32Array(this.contextLength);
    this.encodeInto(requireText(text), out, 0);
    return out;
  }

  /** ids: [n, contextLength], row-major. */
  encodeBatch(texts: readonly string[]): { ids: Int32Array; n: number; contextLength: number } {
    const ids = new Int32Array(texts.length * this.contextLength);
    texts.forEach((text, i) => this.encodeInto(requireText(text, i), ids, i * this.contextLength));
    return { ids, n: texts.length, contextLength: this.contextLength };
  }

  /** The tokens of a text without start/end tokens and without truncation. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    for (const word of pretokenize(cleanText(requireText(text)))) ids.push(...this.encodeWord(word));
    return ids;
  }

  /** Number of ids the text needs, start and end tokens included, before truncation. */
  countTokens(text: string): number {
    return this.tokenize(text).length + 2;
  }

  /** Text back from ids; special tokens and padding are skipped, so decode(encode(t)) is the cleaned t. */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === PAD_ID || id === START_ID || id === END_ID) continue;
      const token = this.vocab[id];
      if (token === undefined) throw new Error(`cannot decode id ${id}: the vocabulary has ${this.vocabSize} tokens`);
      appendTokenBytes(token, bytes);
    }
    return new TextDecoder().decode(new Uint8Array(bytes)).trim();
  }

  /** Position of the end token in one row of ids (the pooled position for end-token pooling); -1 if absent. */
  endIndex(ids: ArrayLike<number>): number {
    for (let i = 0; i < ids.length; i++) if (ids[i] === END_ID) return i;
    return -1;
  }

  /** End-token positions of every row of an encodeBatch result: [n]. */
  endIndices(batch: { ids: Int32Array; n: number; contextLength: number }): Int32Array {
    const out = new Int32Array(batch.n);
    for (let i = 0; i < batch.n; i++) out[i] = this.endIndex(batch.ids.subarray(i * batch.contextLength, (i + 1) * batch.contextLength));
    return out;
  }

  /** The string of one token id, e.g. "dog</w>". */
  token(id: number): string {
    const token = this.vocab[id];
    if (token === undefined) throw new Error(`token id ${id} is outside the vocabulary of ${this.vocabSize}`);
    return token;
  }

  private encodeInto(text: string, out: Int32Array, offset: number): void {
    const last = this.contextLength - 1;
    let n = 0;
    out[offset + n++] = START_ID;
    for (const word of pretokenize(cleanText(text))) {
      for (const id of this.encodeWord(word)) {
        if (n === last) break;
        out[offset + n++] = id;
      }
      if (n === last) break;
    }
    out[offset + n] = END_ID;
  }

  private encodeWord(word: string): number[] {
    let ids = this.wordCache.get(word);
    if (ids === undefined) {
      ids = this.merges.apply(wordToByteIds(word));
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, ids);
    }
    return ids;
  }
}

function appendTokenBytes(token: string, bytes: number[]): void {
  const endsWord = token.endsWith(END_OF_WORD);
  const body = endsWord ? token.slice(0, -END_OF_WORD.length) : token;
  for (const ch of body) bytes.push(charToByte.get(ch)!);
  if (endsWord) bytes.push(0x20);
}

function requireText(text: unknown, index?: number): string {
  if (typeof text === 'string') return text;
  const where = index === undefined ? '' : ` at index ${index}`;
  throw new Error(`cannot tokenize ${text === null ? 'null' : typeof text}${where}: expected a string`);
}
