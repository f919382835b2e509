// The tokenizer file format and its validation: no Node imports, so the
// browser build (hyperclip/web) reads tokenizer.json with the same checks.
import { baseVocabulary, FIRST_MERGE_ID } from './vocabulary.js';

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
  return { ...file, name: typeof file.name === 'string' ? file.name : baseName(source) } as TokenizerFile;
}

/** The file name without folders or .json, for a file that does not name itself. */
const baseName = (source: string): string => (source.split(/[\\/]/).pop() ?? source).replace(/\.json$/, '');
