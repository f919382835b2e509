import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { validateTokenizerFile, type TokenizerFile } from './tokenizer-format.js';
import { projectRoot } from '../../project-root.js';

export { TOKENIZER_FORMAT, TOKENIZER_FORMAT_VERSION, validateTokenizerFile, type TokenizerFile } from './tokenizer-format.js';

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
