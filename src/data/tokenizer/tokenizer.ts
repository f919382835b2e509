// The tokenizer on Node: BpeTokenizer plus loading by name or path and the
// vocabulary fingerprint (node:crypto) that derived files record.
import { createHash } from 'node:crypto';
import { BpeTokenizer } from './bpe-tokenizer.js';
import { readTokenizerFile } from './tokenizer-file.js';

export class Tokenizer extends BpeTokenizer {
  private fingerprintCache: string | undefined;

  /** By name (models/tokenizers/NAME.json under the project root) or by path to a .json file. */
  static load(nameOrPath: string): Tokenizer {
    const { file, path } = readTokenizerFile(nameOrPath);
    return new Tokenizer(file, path);
  }

  /** A short hash of vocabulary and merges: files derived from this tokenizer record it to detect a mismatch. */
  get fingerprint(): string {
    this.fingerprintCache ??= createHash('sha256').update(this.vocab.join('\n')).digest('hex').slice(0, 16);
    return this.fingerprintCache;
  }
}
