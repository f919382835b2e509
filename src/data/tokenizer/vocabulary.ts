import { byteToChar, END_OF_WORD } from './byte-alphabet.js';

// Id layout shared by training and encoding:
//   0 pad, 1 start, 2 end,
//   3 .. 258   the 256 byte symbols inside a word,
//   259 .. 514 the same bytes ending a word (with </w>),
//   515 ..     one token per merge, in merge order (so a merge's rank is its id).
// Padding is a dedicated id 0 rather than a real token, so it can never be
// mistaken for text.

export const PAD_TOKEN = '<pad>';
export const START_TOKEN = '<start_of_text>';
export const END_TOKEN = '<end_of_text>';
export const SPECIAL_TOKENS: readonly string[] = [PAD_TOKEN, START_TOKEN, END_TOKEN];

export const PAD_ID = 0;
export const START_ID = 1;
export const END_ID = 2;
export const FIRST_BYTE_ID = SPECIAL_TOKENS.length;
export const FIRST_MERGE_ID = FIRST_BYTE_ID + 512;

/** The id of byte b, inside a word or ending it. */
export function byteId(b: number, endsWord: boolean): number {
  return FIRST_BYTE_ID + b + (endsWord ? 256 : 0);
}

/** The tokens every vocabulary starts with: special tokens, then both byte sets. */
export function baseVocabulary(): string[] {
  const vocab = [...SPECIAL_TOKENS];
  for (let b = 0; b < 256; b++) vocab.push(byteToChar[b]);
  for (let b = 0; b < 256; b++) vocab.push(byteToChar[b] + END_OF_WORD);
  return vocab;
}

const utf8 = new TextEncoder();

/** A word's starting symbols: its UTF-8 bytes, the last one marked as ending the word. */
export function wordToByteIds(word: string): number[] {
  const bytes = utf8.encode(word);
  const ids = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) ids[i] = byteId(bytes[i], i === bytes.length - 1);
  return ids;
}
