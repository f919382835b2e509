// One chunk file of a feature store: a fixed preamble, a JSON header listing
// the entries, then their bytes back to back.
//
//   "HCFS"  u32 version  u32 header bytes  u32 header crc32  header JSON  payload
//   header: { "entries": [[id, view, payload offset, bytes, crc32], ...] }
//
// A chunk is written whole and renamed into place (atomic-write.ts), so a
// reader never sees a partial one from a killed writer; damage from outside
// (a truncated copy, a flipped bit) is caught by the size the header implies
// and by each entry's crc32.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

const MAGIC = 'HCFS';
const VERSION = 1;
const PREAMBLE = 16;

export interface ChunkEntry { id: string; view: number; bytes: Uint8Array }

/** Where an entry's bytes lie in its file, and their checksum. */
export interface EntryLocation { id: string; view: number; offset: number; length: number; crc: number }

export class DamagedChunkError extends Error {}

/** The file's pieces, to hand to writeFileAtomic. */
export function encodeChunk(entries: ChunkEntry[]): Uint8Array[] {
  let offset = 0;
  const rows = entries.map((e) => {
    const row = [e.id, e.view, offset, e.bytes.byteLength, crc32(e.bytes)];
    offset += e.bytes.byteLength;
    return row;
  });
  const header = Buffer.from(JSON.stringify({ entries: rows }));
  const preamble = Buffer.alloc(PREAMBLE);
  preamble.write(MAGIC, 0, 'latin1');
  preamble.writeUInt32LE(VERSION, 4);
  preamble.writeUInt32LE(header.byteLength, 8);
  preamble.writeUInt32LE(crc32(header), 12);
  return [preamble, header, ...entries.map((e) => e.bytes)];
}

function readExactly<T extends Uint8Array>(fd: number, out: T, position: number): T {
  const length = out.byteLength;
  let got = 0;
  while (got < length) {
    const n = readSync(fd, out, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  if (got < length) throw new DamagedChunkError(`ends after ${position + got} bytes, ${position + length} expected`);
  return out;
}

/** The entries of a chunk file with their absolute offsets; throws DamagedChunkError when the file is not a whole chunk. */
export function readChunkIndex(file: string): EntryLocation[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const preamble = readExactly(fd, Buffer.alloc(PREAMBLE), 0);
    if (preamble.toString('latin1', 0, 4) !== MAGIC) throw new DamagedChunkError('is not a feature chunk (bad magic)');
    if (preamble.readUInt32LE(4) !== VERSION) throw new DamagedChunkError(`has format version ${preamble.readUInt32LE(4)}, ${VERSION} expected`);
    const header = readExactly(fd, Buffer.alloc(preamble.readUInt32LE(8)), PREAMBLE);
    if (crc32(header) !== preamble.readUInt32LE(12)) throw new DamagedChunkError('has a damaged header (crc32 mismatch)');
    const rows = parseRows(header);
    const start = PREAMBLE + header.byteLength;
    const payload = rows.reduce((sum, r) => sum + r[3], 0);
    if (size !== start + payload) throw new DamagedChunkError(`holds ${size} bytes, its header describes ${start + payload} (truncated or extended)`);
    return rows.map(([id, view, offset, length, crc]) => ({ id, view, offset: start + offset, length, crc }));
  } finally {
    closeSync(fd);
  }
}

type Row = [string, number, number, number, number];

function parseRows(header: Buffer): Row[] {
  try {
    const rows = (JSON.parse(header.toString('utf8')) as { entries: Row[] }).entries;
    if (Array.isArray(rows) && rows.every((r) => Array.isArray(r) && r.length === 5)) return rows;
  } catch {
    // reported below as damage
  }
  throw new DamagedChunkError('has a header that does not list entries');
}

/** An entry's bytes read from an open chunk file; throws DamagedChunkError when they are short or fail their crc32. */
export function readEntry(fd: number, entry: EntryLocation): Uint8Array {
  const bytes = readExactly(fd, new Uint8Array(entry.length), entry.offset);
  if (crc32(bytes) !== entry.crc) throw new DamagedChunkError(`entry ${entry.id} view ${entry.view} fails its crc32`);
  return bytes;
}
