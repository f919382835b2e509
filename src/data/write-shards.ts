// Loose files (an image folder, a CSV of pairs, a list of images) -> WebDataset
// shards, for data too large to read file by file every epoch. Samples are
// written in a seeded permutation (training shards are read in stored order
// within a shuffle buffer, so they must be stored shuffled), each image's
// bytes as they are (no re-encoding) with its .cls index or .txt caption and
// a .json naming the file it came from; classnames.json beside the shards.
// Images that do not decode are left out and counted, so the shards hold
// only samples the loader can use.
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { imageMember } from './captions.js';
import { readFileSamples } from './files/file-samples.js';
import { checkImage, PIXEL_LIMIT_MESSAGE } from './images.js';
import { createRng, hash32, shuffled } from './random.js';
import type { ResolvedData } from './resolve.js';
import type { RawSample } from './webdataset/reader.js';
import { SkipCounter, type SkipReason } from './webdataset/skip-counter.js';
import { ShardWriter } from './webdataset/writer.js';

export interface WriteShardsOptions {
  /** Seed of the sample order (default 0). */
  seed?: number;
  /** false: keep the listing's order (sorted folders, CSV rows), e.g. for a test set. Default true. */
  shuffle?: boolean;
  samplesPerShard?: number;
  /** Shard names PREFIX-000000.tar, ... (default "shard"). */
  prefix?: string;
  /** Decode every image first and leave out those that fail (default true). */
  verify?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface WriteShardsSummary {
  samples: number;
  shards: string[];
  bytes: number;
  classnames: string[] | null;
  skipped: SkipCounter;
}

/** Member names as WebDataset readers expect them ("jpeg" files become .jpg members). */
const MEMBER_NAME: Record<string, string> = { jpeg: 'jpg', tif: 'tiff' };

function checkOutput(dir: string): void {
  if (!existsSync(dir)) { mkdirSync(dir, { recursive: true }); return; }
  const taken = readdirSync(dir).filter((f) => /\.tar(\.gz)?(\.partial)?$|^classnames\.json$/.test(f));
  if (taken.length > 0) throw new Error(`${dir} already holds shards (${taken[0]}): write to an empty folder`);
}

/** Why a sample cannot go into the shards, or null: the reader's damage, or the decoder's refusal. */
async function unusable(sample: RawSample, verify: boolean): Promise<[SkipReason, string] | null> {
  const image = imageMember(sample);
  const where = `${sample.shard}:${sample.key}`;
  if (image === undefined) return [sample.damaged?.reason ?? 'missing_image', sample.damaged ? `${where} (${sample.damaged.detail})` : where];
  if (!verify) return null;
  try {
    await checkImage(image);
    return null;
  } catch (error) {
    const message = (error as Error).message;
    return [message === PIXEL_LIMIT_MESSAGE ? 'image_too_large' : 'corrupt_image', `${where}: ${message}`];
  }
}

function members(sample: RawSample, image: Buffer): [string, Uint8Array][] {
  const extension = [...sample.members.keys()].find((k) => sample.members.get(k) === image)!;
  const out: [string, Uint8Array][] = [[MEMBER_NAME[extension] ?? extension, image]];
  for (const annotation of ['cls', 'txt'] as const) {
    const body = sample.members.get(annotation);
    if (body !== undefined) out.push([annotation, body]);
  }
  out.push(['json', Buffer.from(JSON.stringify({ source: sample.key }))]);
  return out;
}

/** Writes the loose files of `data` as shards into `outDir` (created; it must hold no shards yet). */
export async function writeShards(data: ResolvedData, outDir: string, options: WriteShardsOptions = {}): Promise<WriteShardsSummary> {
  const list = data.source.files;
  if (list === undefined) throw new Error(`${data.name} is already WebDataset shards: give a folder of images, a CSV/TSV or a list of images`);
  checkOutput(outDir);
  const { seed = 0, shuffle = true, verify = true } = options;
  const all = [...list.files.keys()];
  const order = shuffle ? shuffled(all, createRng(hash32(seed, 0x5ad))) : all;
  const skipped = new SkipCounter();
  skipped.merge(list.skipped);
  const writer = new ShardWriter(outDir, { prefix: options.prefix, maxSamples: options.samplesPerShard });
  const width = Math.max(6, String(order.length - 1).length);
  // Images are checked a few at a time ahead of the writer, which keeps the order.
  const window: { sample: RawSample; problem: ReturnType<typeof unusable> }[] = [];
  const depth = 2 * availableParallelism();
  let done = 0, written = 0;
  const writeNext = async (): Promise<void> => {
    const { sample, problem } = window.shift()!;
    const why = await problem;
    if (why !== null) skipped.add(why[0], why[1]);
    else await writer.write(String(written++).padStart(width, '0'), members(sample, imageMember(sample)!));
    options.onProgress?.(++done, order.length);
  };
  try {
    for await (const sample of readFileSamples(list, order)) {
      window.push({ sample, problem: unusable(sample, verify) });
      if (window.length >= depth) await writeNext();
    }
    while (window.length > 0) await writeNext();
    await writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  }
  if (written === 0) throw new Error(`no usable images in ${data.name} (${skipped.summary()}): nothing written`);
  if (data.classnames !== null) {
    const file = path.join(outDir, 'classnames.json');
    writeFileSync(`${file}.partial`, `${JSON.stringify(data.classnames, null, 1)}\n`);
    renameSync(`${file}.partial`, file);
  }
  return { samples: written, shards: writer.shards, bytes: writer.bytes, classnames: data.classnames, skipped };
}
