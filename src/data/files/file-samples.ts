// Samples kept as loose image files (an image folder, a CSV of paths and
// captions, a list of images), read into the same RawSample shape a
// WebDataset shard yields: the image under its extension, the class index as
// a .cls member, the caption as a .txt member. Everything downstream (the
// stream, captions, decoding, skip counting) is then the shards' code.
import { open } from 'node:fs/promises';
import path from 'node:path';
import { MAX_MEMBER_BYTES, type RawSample, type ReadOptions } from '../webdataset/reader.js';
import { SkipCounter } from '../webdataset/skip-counter.js';

/** One sample: its image file and the annotation that stands for its .cls or .txt member. */
export interface FileSample {
  /** Names the sample in messages: the image's path relative to the listing (a CSV's also its line). */
  key: string;
  path: string;
  label?: number;
  caption?: string;
}

/** The samples of one listing (a folder, a CSV, a list file), in stored order. */
export interface FileList {
  /** The folder or file listed, for messages. */
  origin: string;
  files: FileSample[];
  /** Entries passed over while listing (non-image files, missing paths), counted by reason. */
  skipped: SkipCounter;
}

/** Files read concurrently ahead of the consumer: the reads overlap on libuv's thread pool. */
const READ_AHEAD = 32;

/** The member name of an image file: its extension, lower case ("IMG_1.JPG" -> "jpg"). */
export function imageExtension(file: string): string {
  return path.extname(file).slice(1).toLowerCase();
}

async function readSample(list: FileList, file: FileSample, maxBytes: number): Promise<RawSample> {
  const sample: RawSample = { key: file.key, shard: list.origin, members: new Map() };
  if (file.label !== undefined) sample.members.set('cls', Buffer.from(String(file.label)));
  if (file.caption !== undefined) sample.members.set('txt', Buffer.from(file.caption));
  let handle;
  try {
    handle = await open(file.path, 'r');
    const { size } = await handle.stat();
    // The shard reader's limits, so a loose file and the same file in a shard are treated alike.
    if (size > maxBytes) sample.damaged = { reason: 'oversized_member', detail: `${file.path} is ${size} bytes (the limit is ${maxBytes})` };
    else if (size === 0) sample.damaged = { reason: 'empty_member', detail: `${file.path} is empty` };
    else sample.members.set(imageExtension(file.path), await handle.readFile());
  } catch (error) {
    sample.damaged = { reason: 'unreadable_file', detail: `${file.path}: ${(error as Error).message}` };
  } finally {
    await handle?.close();
  }
  return sample;
}

/**
 * The samples of `list` in the given order of indices (default: stored
 * order). Exactly one sample per index, so a position is an index: a file
 * that cannot be read comes as a damaged sample without an image, which the
 * consumer counts and skips.
 */
export async function* readFileSamples(list: FileList, order?: Iterable<number>, options: ReadOptions = {}): AsyncGenerator<RawSample> {
  const maxBytes = options.maxMemberBytes ?? MAX_MEMBER_BYTES;
  const indices = (order ?? list.files.keys())[Symbol.iterator]();
  const pending: Promise<RawSample>[] = [];
  const fill = (): void => {
    while (pending.length < READ_AHEAD) {
      const next = indices.next();
      if (next.done) return;
      pending.push(readSample(list, list.files[next.value]!, maxBytes));
    }
  };
  fill();
  while (pending.length > 0) {
    const sample = await pending.shift()!;
    fill();
    yield sample;
  }
}
