// Streams WebDataset shards (.tar or .tar.gz) sample by sample: members that
// share a key and sit next to each other form one sample. Never holds more
// than one sample in memory. A truncated or corrupt shard ends that shard
// (counted) and reading goes on with the next.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { SkipCounter, SkipReason } from './skip-counter.js';

export interface RawSample {
  key: string;
  shard: string;
  /** Member extension (lower case, no leading dot: 'jpg', 'txt', 'json', 'cls') -> bytes. */
  members: Map<string, Buffer>;
}

export interface ReadOptions { skipCounter?: SkipCounter }

/** "dir/abc.seg.JPG" -> key "dir/abc", extension "seg.jpg" (the WebDataset rule: first dot of the base name). */
export function splitMemberName(name: string): { key: string; extension: string } {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot < 0) return { key: name, extension: '' };
  return { key: name.slice(0, dot), extension: name.slice(dot + 1).toLowerCase() };
}

function isGzip(path: string): boolean {
  return /\.(gz|tgz)$/i.test(path);
}

interface TarStream { extract: tar.Extract; close: () => void }

function openTarStream(path: string): TarStream {
  const extract = tar.extract();
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const bytes: Readable = isGzip(path) ? file.pipe(createGunzip()) : file;
  const fail = (error: Error) => extract.destroy(error);
  file.on('error', fail);
  bytes.on('error', fail);
  bytes.pipe(extract as unknown as NodeJS.WritableStream);
  // A reader that stops early (break, resume skip) must not leave the file open.
  const close = () => { bytes.unpipe(); bytes.destroy(); file.destroy(); extract.destroy(); };
  return { extract, close };
}

function shardFailure(error: NodeJS.ErrnoException): SkipReason {
  if (error.code === 'ENOENT' || error.code === 'EACCES' || error.code === 'EISDIR') return 'unreadable_shard';
  return /unexpected end/i.test(error.message) ? 'truncated_shard' : 'corrupt_shard';
}

/**
 * A member's bytes in a buffer of their own: the stream's chunks are views of
 * 16 KB blocks, and a shuffle buffer holding views would keep every block alive.
 */
async function readEntry(entry: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of entry) { chunks.push(chunk); length += chunk.length; }
  const out = Buffer.allocUnsafeSlow(length);
  let offset = 0;
  for (const chunk of chunks) { chunk.copy(out, offset); offset += chunk.length; }
  return out;
}

/** The samples of one shard, in stored order. */
export async function* readShard(path: string, options: ReadOptions = {}): AsyncGenerator<RawSample> {
  const { extract, close } = openTarStream(path);
  let current: RawSample | null = null;
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      if (type !== 'file' && type !== 'contiguous-file') { entry.resume(); continue; }
      const data = await readEntry(entry as unknown as AsyncIterable<Buffer>);
      const { key, extension } = splitMemberName(name);
      if (current && current.key !== key) {
        const done: RawSample = current;
        current = null;
        yield done;
      }
      current ??= { key, shard: path, members: new Map() };
      current.members.set(extension, data);
    }
  } catch (error) {
    // The sample in progress may have lost members: it goes with the shard's tail.
    options.skipCounter?.add(shardFailure(error as NodeJS.ErrnoException), `${path}: ${(error as Error).message}`);
    return;
  } finally {
    close();
  }
  if (current) yield current;
}

/** The samples of every shard, one shard after the other. */
export async function* iterateSamples(shards: string[], options: ReadOptions = {}): AsyncGenerator<RawSample> {
  for (const shard of shards) yield* readShard(shard, options);
}
