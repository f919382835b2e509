import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { baseVocabulary, FIRST_MERGE_ID } from './vocabulary.js';
import { projectRoot } from '../../project-root.js';

export const TOKENIZER_FORMAT = 'hyperclip-bpe';
export const TOKENIZER_FORMAT_VERSION = 1;

/** What a saved tokenizer holds: small JSON, the whole vocabulary in id order plus the ordered merges. */
export interface TokenizerFile {
  format: typeof TOKENIZER_FORMAT;
  version: number;
  name: string;
  contextLength: number;
  /** Token strings by id: special tokens, 512 byte symbols, then one per merge. */
  vocab: string[];
  /** "left right" token strings, earliest merge first; merge i creates token FIRST_MERGE_ID + i. */
  merges: string[];
  /** Free-form notes on how the file was made (corpus, counts, command). */
  training?: Record<string, unknown>;
}

/** Fails with one line naming the file and the problem, so a damaged file is easy to find. */
export function validateTokenizerFile(value: unknown, source: string): TokenizerFile {
  const fail = (why: string): never => {
    throw new Error(`${source} is not a valid tokenizer file: ${why}`);
  };
  if (typeof value !== 'object' || value === null) fail('expected a JSON object');
  const file = value as Partial<TokenizerFile>;
  if (file.format !== TOKENIZER_FORMAT) fail(`expected format "${TOKENIZER_FORMAT}" but found ${JSON.stringify(file.format)}`);
  if (file.version !== TOKENIZER_FORMAT_VERSION) fail(`unsupported version ${file.version}; this build reads version ${TOKENIZER_FORMAT_VERSION}`);
  if (!Number.isInteger(file.contextLength) || file.contextLength! < 2) fail(`contextLength must be an integer of at least 2, found ${file.contextLength}`);
  if (!Array.isArray(file.vocab) || !Array.isArray(file.merges)) fail('vocab and merges must be arrays');
  const vocab = file.vocab!;
  const base = baseVocabulary();
  if (vocab.length !== base.length + file.merges!.length) {
    fail(`vocab has ${vocab.length} tokens but ${base.length} base tokens + ${file.merges!.length} merges were expected`);
  }
  base.forEach((token, id) => {
    if (vocab[id] !== token) fail(`token ${id} should be ${JSON.stringify(token)} but is ${JSON.stringify(vocab[id])}`);
  });
  file.merges!.forEach((merge, i) => {
    const parts = typeof merge === 'string' ? merge.split(' ') : [];
    const id = FIRST_MERGE_ID + i;
    if (parts.length !== 2 || parts[0] + parts[1] !== vocab[id]) fail(`merge ${i} (${JSON.stringify(merge)}) does not produce token ${id} ${JSON.stringify(vocab[id])}`);
  });
  return { ...file, name: typeof file.name === 'string' ? file.name : path.basename(source, '.json') } as TokenizerFile;
}

export const TOKENIZER_DIR = 'models/tokenizers';

/** A bare name ("flickr8k-4k") means models/tokenizers/NAME.json under the project root; anything with a slash or .json is a path. */
export function resolveTokenizerPath(nameOrPath: string): string {
  if (nameOrPath.trim() === '') throw new Error('tokenizer name is empty: give a name such as flickr8k-4k or a path to a .json file');
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.includes(path.sep) || nameOrPath.endsWith('.json');
  return looksLikePath ? path.resolve(nameOrPath) : path.join(projectRoot(), TOKENIZER_DIR, `${nameOrPath}.json`);
}

export function readTokenizerFile(nameOrPath: string): { file: TokenizerFile; path: string } {
  const file = resolveTokenizerPath(nameOrPath);
  if (!existsSync(file)) {
    throw new Error(`tokenizer "${nameOrPath}" not found at ${file}: train one with "hyperclip tokenizer train --name ${path.basename(file, '.json')}" or pass the path of a tokenizer .json`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not a valid tokenizer file: ${(err as Error).message}`);
  }
  return { file: validateTokenizerFile(parsed, file), path: file };
}

/** One token per line keeps the file diff-friendly while staying small. */
export function serializeTokenizerFile(file: TokenizerFile): string {
  const { vocab, merges, training, ...settings } = file;
  const lines = (items: string[]) => items.map((s) => `    ${JSON.stringify(s)}`).join(',\n');
  const head = JSON.stringify({ ...settings, training }, null, 2).replace(/\n}$/, '');
  return `${head},\n  "vocab": [\n${lines(vocab)}\n  ],\n  "merges": [\n${lines(merges)}\n  ]\n}\n`;
}

/** Writes atomically (a crash never leaves half a tokenizer), creating the folder if needed. */
export function saveTokenizer(file: TokenizerFile, outPath: string): void {
  validateTokenizerFile(file, outPath);
  mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true });
  writeFileAtomic(path.resolve(outPath), [serializeTokenizerFile(file)]);
}
