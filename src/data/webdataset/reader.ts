// Streams WebDataset shards (.tar or .tar.gz) sample by sample: members that
// share a key and sit next to each other form one sample. Never holds more
// than one sample in memory. A corrupt tar header costs its member only:
// reading resyncs on the next valid header (tar-resync.ts), and the samples
// around the loss are marked damaged. A truncated shard or a broken gzip
// stream ends that shard (counted) and reading goes on with the next.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { SkipCounter, SkipReason } from './skip-counter.js';
import { isResyncMarker, TarResync, type ResyncEvent } from './tar-resync.js';

/** Why a sample may lack members; a consumer that finds it unusable counts it under this reason. */
export interface Damage { reason: SkipReason; detail: string }

export interface RawSample {
  key: string;
  shard: string;
  /** Member extension (lower case, no leading dot: 'jpg', 'txt', 'json', 'cls') -> bytes. */
  members: Map<string, Buffer>;
  /** Set when a member of this sample (or of a neighbour: a corrupt header hides whose) was lost. */
  damaged?: Damage;
}

export interface ReadOptions {
  skipCounter?: SkipCounter;
  /** Members larger than this are dropped unread (default 64 MiB): one bad header must not fill memory. */
  maxMemberBytes?: number;
}

export const MAX_MEMBER_BYTES = 64 * 2 ** 20;

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

interface TarStream { extract: tar.Extract; resync: TarResync; close: () => void }

function openTarStream(path: string): TarStream {
  const extract = tar.extract();
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const bytes: Readable = isGzip(path) ? file.pipe(createGunzip()) : file;
  const resync = new TarResync();
  const fail = (error: Error) => extract.destroy(error);
  file.on('error', fail);
  bytes.on('error', fail);
  bytes.pipe(resync).pipe(extract as unknown as NodeJS.WritableStream);
  // A reader that stops early (break, resume skip) must not leave the file open.
  const close = () => { bytes.unpipe(); resync.unpipe(); bytes.destroy(); resync.destroy(); file.destroy(); extract.destroy(); };
  return { extract, resync, close };
}

const resyncDetail = (path: string, event: ResyncEvent | undefined) => (event
  ? `${path}: corrupt tar header at byte ${event.offset}, ${event.skipped} bytes skipped to the next valid header`
  : `${path}: corrupt tar header`);

function shardFailure(error: NodeJS.ErrnoException): SkipReason {
  if (error.code === 'ENOENT' || error.code === 'EACCES' || error.code === 'EISDIR') return 'unreadable_shard';
  return /unexpected end/i.test(error.message) ? 'truncated_shard' : 'corrupt_shard';
}

/** A member named by a corrupt header (the name possibly garbled by the corruption). */
interface LostMember { key: string; extension: string }

/**
 * Does a lost member belong to this sample? Its key matches, or differs by
 * one character (one corrupted byte) while the sample lacks that member.
 */
function belongsTo(lost: LostMember, sample: RawSample): boolean {
  if (lost.key === sample.key) return true;
  if (lost.key.length !== sample.key.length || sample.members.has(lost.extension)) return false;
  let differences = 0;
  for (let i = 0; i < lost.key.length && differences < 2; i++) if (lost.key[i] !== sample.key[i]) differences++;
  return differences < 2;
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

/**
 * The samples of one shard, in stored order. After a resync, the sample in
 * progress and the next one are marked damaged (the lost member was one of
 * theirs); a sample whose members were all lost (named by the corrupt
 * headers, and neither neighbour's) is counted here as corrupt_header.
 */
export async function* readShard(path: string, options: ReadOptions = {}): AsyncGenerator<RawSample> {
  const { extract, resync, close } = openTarStream(path);
  const maxMemberBytes = options.maxMemberBytes ?? MAX_MEMBER_BYTES;
  let current: RawSample | null = null;
  /** After a resync: the damage to mark the next sample with, and lost members that are not the current sample's. */
  let pending: { damage: Damage; lost: LostMember[] } | null = null;
  /** Lost members that may be this (unfinished) sample's; the rest vanished with a sample of their own. */
  let awaiting: { sample: RawSample; damage: Damage; lost: LostMember[] } | null = null;
  const countVanished = (lost: LostMember[], damage: Damage) => {
    for (const key of new Set(lost.map((m) => m.key))) options.skipCounter?.add('corrupt_header', `${path}:${key} (${damage.detail})`);
  };
  const settle = (sample: RawSample) => {
    if (awaiting?.sample !== sample) return;
    countVanished(awaiting.lost.filter((m) => !belongsTo(m, sample)), awaiting.damage);
    awaiting = null;
  };
  try {
    for await (const entry of extract) {
      const { name, type, size } = entry.header;
      if (isResyncMarker(entry.header)) {
        entry.resume();
        const event = resync.events.shift();
        const damage: Damage = { reason: 'corrupt_header', detail: resyncDetail(path, event) };
        const lost = (event?.lostNames ?? []).map(splitMemberName);
        if (current) current.damaged ??= damage;
        if (pending) countVanished(pending.lost, pending.damage);
        pending = { damage, lost: current ? lost.filter((m) => !belongsTo(m, current!)) : lost };
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') { entry.resume(); continue; }
      const { key, extension } = splitMemberName(name);
      if (current && current.key !== key) {
        const done: RawSample = current;
        current = null;
        settle(done);
        yield done;
      }
      if (!current) {
        current = { key, shard: path, members: new Map() };
        if (pending) {
          current.damaged = pending.damage;
          awaiting = { sample: current, ...pending };
          pending = null;
        }
      }
      if (size > maxMemberBytes) {
        entry.resume();
        current.damaged ??= { reason: 'oversized_member', detail: `${path}:${name} is ${size} bytes (the limit is ${maxMemberBytes})` };
        continue;
      }
      if (size === 0) {
        // No image, caption or label is ever empty: an empty .cls would otherwise read as class 0.
        entry.resume();
        current.damaged ??= { reason: 'empty_member', detail: `${path}:${name} is empty` };
        continue;
      }
      current.members.set(extension, await readEntry(entry as unknown as AsyncIterable<Buffer>));
    }
    if (current) settle(current);
    if (pending) countVanished(pending.lost, pending.damage);
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
