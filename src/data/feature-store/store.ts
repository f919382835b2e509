// A folder of stored features per (image, view): what a frozen part of a
// model computed from a fixed augmented view, kept so that later draws and
// later runs read it instead of decoding and computing it again. The store
// holds opaque bytes; what they mean is the caller's, and `key.json` records
// the setup they were computed under: a folder written under another key is
// refused, never mixed.
//
// Memory stays bounded: the index (a few numbers per entry) is in memory,
// the features are on disk, and at most one chunk of new entries waits to be
// written. A chunk is written whole and atomically, so a killed run loses at
// most its unwritten chunk and leaves nothing half-written; a damaged chunk
// or entry found later is counted and dropped, and its views are computed
// again like any other miss.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { removeStaleTemporaries, writeFileAtomic, writeJsonAtomic } from '../../engine/atomic-write.js';
import type { ViewFeatureReader } from '../fixed-views.js';
import { DamagedChunkError, encodeChunk, readChunkIndex, readEntry, type ChunkEntry, type EntryLocation } from './chunk-file.js';

export interface FeatureStoreOptions {
  /** Bytes of every entry: an entry of another size is damage. */
  entryBytes: number;
  /** Entries written per chunk file, and the most held in memory before writing (default 256). */
  entriesPerChunk?: number;
}

export interface FeatureStoreStats {
  /** Entries found on disk when the store opened. */
  found: number;
  hits: number;
  misses: number;
  /** Entries this process wrote. */
  written: number;
  bytesRead: number;
  bytesWritten: number;
  readSeconds: number;
  writeSeconds: number;
  /** Chunk files that were not whole (truncated, bad header): removed, their views computed again. */
  damagedChunks: number;
  /** Entries whose bytes failed their crc32 or size: dropped, computed again. */
  damagedEntries: number;
}

const KEY_FILE = 'key.json';
const CHUNK = /^[\w-]+\.chunk$/;
const OPEN_FILES = 32;

interface Located extends EntryLocation { file: number }

const entryKey = (id: string, view: number): string => `${view}:${id}`;

/** The first top-level field in which two keys differ, for the one-line refusal. */
function firstDifference(ours: Record<string, unknown>, theirs: Record<string, unknown>): string {
  const fields = [...new Set([...Object.keys(ours), ...Object.keys(theirs)])];
  const field = fields.find((f) => JSON.stringify(ours[f]) !== JSON.stringify(theirs[f])) ?? '?';
  const show = (v: unknown): string => { const s = JSON.stringify(v) ?? 'absent'; return s.length > 40 ? `${s.slice(0, 37)}...` : s; };
  return `${field}: ${show(ours[field])} here, ${show(theirs[field])} in the folder`;
}

export class FeatureStore implements ViewFeatureReader {
  readonly stats: FeatureStoreStats = {
    found: 0, hits: 0, misses: 0, written: 0, bytesRead: 0, bytesWritten: 0, readSeconds: 0, writeSeconds: 0, damagedChunks: 0, damagedEntries: 0,
  };
  private readonly files: string[] = [];
  private readonly index = new Map<string, Located>();
  private readonly pending = new Map<string, ChunkEntry>();
  /** Open descriptors by file index, least recently used first. */
  private readonly open = new Map<number, number>();
  private readonly entriesPerChunk: number;
  private written = 0;

  private constructor(readonly dir: string, private readonly options: FeatureStoreOptions) {
    this.entriesPerChunk = options.entriesPerChunk ?? 256;
    if (!Number.isInteger(this.entriesPerChunk) || this.entriesPerChunk < 1) throw new Error(`expected entriesPerChunk >= 1, received ${this.entriesPerChunk}`);
  }

  /** Opens (or creates) the store in `dir` for `key`; refuses a folder written under another key, in one line. */
  static open(dir: string, key: Record<string, unknown>, options: FeatureStoreOptions): FeatureStore {
    const store = new FeatureStore(dir, options);
    store.claim(key);
    removeStaleTemporaries(dir); // chunks whose writer was killed mid-write
    store.loadIndex();
    return store;
  }

  private claim(key: Record<string, unknown>): void {
    const keyFile = path.join(this.dir, KEY_FILE);
    if (existsSync(keyFile)) {
      const theirs = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
      if (JSON.stringify(theirs) !== JSON.stringify(key)) {
        throw new Error(`feature cache ${this.dir} holds features of another setup (${firstDifference(key, theirs)}): delete the folder or use another cache folder`);
      }
      return;
    }
    mkdirSync(this.dir, { recursive: true });
    if (readdirSync(this.dir).some((f) => CHUNK.test(f))) {
      throw new Error(`feature cache ${this.dir} holds chunks but no ${KEY_FILE}, so what they hold is unknown: delete the folder or use another cache folder`);
    }
    writeJsonAtomic(keyFile, key);
  }

  private loadIndex(): void {
    for (const name of readdirSync(this.dir).filter((f) => CHUNK.test(f)).sort()) this.addChunk(path.join(this.dir, name));
    this.stats.found = this.index.size;
  }

  private addChunk(file: string): void {
    let entries: EntryLocation[];
    try {
      entries = readChunkIndex(file);
    } catch (error) {
      if (!(error instanceof DamagedChunkError)) throw error;
      this.stats.damagedChunks++;
      rmSync(file, { force: true });
      return;
    }
    const fileIndex = this.files.push(file) - 1;
    // Chunks load oldest first (their names start with the time): a view written again, after damage, supersedes the damaged copy.
    for (const e of entries) this.index.set(entryKey(e.id, e.view), { ...e, file: fileIndex });
  }

  get size(): number {
    return this.index.size + this.pending.size;
  }

  has(id: string, view: number): boolean {
    const key = entryKey(id, view);
    return this.index.has(key) || this.pending.has(key);
  }

  /** The stored bytes of (id, view), or null when absent or damaged (counted; the caller computes them again). */
  read(id: string, view: number): Uint8Array | null {
    const key = entryKey(id, view);
    const waiting = this.pending.get(key);
    if (waiting !== undefined) {
      this.stats.hits++;
      return waiting.bytes;
    }
    const entry = this.index.get(key);
    if (entry === undefined) {
      this.stats.misses++;
      return null;
    }
    const started = performance.now();
    try {
      if (entry.length !== this.options.entryBytes) throw new DamagedChunkError(`entry ${id} view ${view} holds ${entry.length} bytes, ${this.options.entryBytes} expected`);
      const bytes = readEntry(this.descriptor(entry.file), entry);
      this.stats.hits++;
      this.stats.bytesRead += bytes.byteLength;
      return bytes;
    } catch (error) {
      const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
      if (!(error instanceof DamagedChunkError) && !gone) throw error;
      this.stats.damagedEntries++;
      this.stats.misses++;
      this.index.delete(key);
      return null;
    } finally {
      this.stats.readSeconds += (performance.now() - started) / 1000;
    }
  }

  /** Keeps (id, view)'s bytes; written with the next full chunk, or at flush(). A view already stored is left as it is. */
  put(id: string, view: number, bytes: Uint8Array): void {
    if (bytes.byteLength !== this.options.entryBytes) throw new Error(`feature store: ${bytes.byteLength} bytes for ${id} view ${view}, ${this.options.entryBytes} expected`);
    const key = entryKey(id, view);
    if (this.index.has(key) || this.pending.has(key)) return;
    this.pending.set(key, { id, view, bytes: bytes.slice() });
    if (this.pending.size >= this.entriesPerChunk) this.flush();
  }

  /** Writes the waiting entries as one chunk, atomically. */
  flush(): void {
    if (this.pending.size === 0) return;
    const started = performance.now();
    const entries = [...this.pending.values()];
    const file = path.join(this.dir, `${Date.now().toString(36)}-${process.pid}-${this.written++}.chunk`);
    const pieces = encodeChunk(entries);
    writeFileAtomic(file, pieces);
    this.stats.writeSeconds += (performance.now() - started) / 1000;
    this.stats.bytesWritten += pieces.reduce((sum, p) => sum + p.byteLength, 0);
    this.stats.written += entries.length;
    this.pending.clear();
    this.addChunk(file);
  }

  /** Writes what waits and closes the files. */
  close(): void {
    this.flush();
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }

  summary(): string {
    const s = this.stats;
    const damaged = s.damagedChunks + s.damagedEntries > 0 ? `; ${s.damagedChunks} damaged chunk(s) and ${s.damagedEntries} damaged entr(ies) recomputed` : '';
    return `feature cache ${this.dir}: ${s.found} views found, ${s.hits} read, ${s.misses} computed, ${s.written} written${damaged}`;
  }

  private descriptor(file: number): number {
    let fd = this.open.get(file);
    if (fd !== undefined) {
      this.open.delete(file); // re-inserted below: most recently used
    } else {
      fd = openSync(this.files[file]!, 'r');
      if (this.open.size >= OPEN_FILES) {
        const [oldest, oldFd] = this.open.entries().next().value as [number, number];
        closeSync(oldFd);
        this.open.delete(oldest);
      }
    }
    this.open.set(file, fd);
    return fd;
  }
}
