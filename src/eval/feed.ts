// The evaluation data, as batches of preprocessed images for whatever embeds
// or ranks them: labelled images (under a limit, a seeded sample of one
// pass) and the retrieval gallery (the first N captioned images, each with
// all its captions). Which samples an evaluation reads is decided here once,
// so `hyperclip eval`, validation and the experiments read the same ones.
import { createLoader, expandShards, iterateSamples, SkipCounter, type LoaderSource } from '../data/index.js';
import type { PreprocessSpec } from '../data/preprocess.js';

/** NCHW of a CLIP-normalised float32 batch. */
export type BatchShape = [number, number, number, number];

export interface LabelledBatch { pixels: Float32Array; shape: BatchShape; labels: Int32Array }

export interface GalleryBatch {
  pixels: Float32Array;
  shape: BatchShape;
  /** Each image's index in the gallery. */
  indices: number[];
}

/** Batches to evaluate, and what reading them passed over (one line; complete once the iteration has ended). */
export interface Feed<B> extends AsyncIterable<B> {
  skipped(): string;
}

export interface FeedOptions {
  limit?: number;
  batchSize?: number;
  workers?: number;
}

/**
 * Test shards are often stored sorted by class, so the first n samples are
 * not a fair sample: with a limit, read a seeded shuffle of one pass instead.
 */
export function sampling(limit: number | undefined): { shuffle: boolean; epochs?: number; shuffleBuffer?: number; seed?: number } {
  return limit === undefined ? { shuffle: false } : { shuffle: true, epochs: 1, shuffleBuffer: 20_000, seed: 1234 };
}

/** Labelled images, at most options.limit of them; the loader starts when the iteration does. */
export function labelledFeed(source: LoaderSource, preprocess: PreprocessSpec, options: FeedOptions = {}): Feed<LabelledBatch> {
  const { limit } = options;
  const skips = new SkipCounter();
  return {
    skipped: () => skips.summary(),
    async *[Symbol.asyncIterator]() {
      const batchSize = Math.min(options.batchSize ?? 256, limit ?? Infinity); // never decode more than the limit
      const loader = createLoader({ sources: [source], batchSize, preprocess, workers: options.workers, skipCounter: skips, ...sampling(limit) });
      let samples = 0;
      try {
        for await (const batch of loader) {
          if (batch.labels === null) throw new Error('the evaluated data has no class labels (.cls members)');
          const take = limit === undefined ? batch.size : Math.min(batch.size, limit - samples);
          const plane = 3 * batch.height * batch.width;
          yield { pixels: batch.images.subarray(0, take * plane), shape: [take, 3, batch.height, batch.width], labels: batch.labels.subarray(0, take) };
          samples += take;
          if (limit !== undefined && samples >= limit) break;
        }
      } finally {
        await loader.close();
      }
    },
  };
}

/** The retrieval gallery: images by key, in reading order, and the captions of each. */
export interface Gallery {
  keys: string[];
  captions: string[][];
}

/** Captions by sample key, in reading order, up to `limit` captioned samples: a .json's "captions", else the .txt. */
async function readShardCaptions(shards: string[], limit: number): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  for await (const sample of iterateSamples(shards)) {
    const json = sample.members.get('json');
    let captions: string[] = [];
    try {
      captions = json ? (JSON.parse(json.toString('utf8')).captions as string[]).filter((c) => typeof c === 'string' && c.trim() !== '') : [];
    } catch { /* fall back to .txt */ }
    const txt = sample.members.get('txt')?.toString('utf8').trim();
    if (captions.length === 0 && txt) captions = [txt];
    if (captions.length > 0) byKey.set(sample.key, captions);
    if (byKey.size >= limit) break;
  }
  return byKey;
}

/** The first `limit` captioned images of the data (all of them without a limit); loose files (a CSV) carry one caption per row. */
export async function readGallery(source: LoaderSource, limit?: number): Promise<Gallery> {
  const byKey = source.files === undefined
    ? await readShardCaptions(expandShards(source.shards), limit ?? Infinity)
    : new Map(source.files.files.filter((f) => f.caption !== undefined).map((f) => [f.key, [f.caption!]]));
  const keys = [...byKey.keys()].slice(0, limit ?? Infinity);
  return { keys, captions: keys.map((k) => byKey.get(k)!) };
}

/** The gallery's images in reading order; the loader stops once every gallery image has been read. */
export function galleryFeed(source: LoaderSource, preprocess: PreprocessSpec, gallery: Gallery, options: Omit<FeedOptions, 'limit'> = {}): Feed<GalleryBatch> {
  const skips = new SkipCounter();
  const indexOf = new Map(gallery.keys.map((k, i) => [k, i]));
  return {
    skipped: () => skips.summary(),
    async *[Symbol.asyncIterator]() {
      const loader = createLoader({ sources: [source], batchSize: options.batchSize ?? 256, preprocess, shuffle: false, workers: options.workers, skipCounter: skips });
      const seen = new Set<number>();
      try {
        for await (const batch of loader) {
          const plane = 3 * batch.height * batch.width;
          const rows = batch.keys.flatMap((key, row) => {
            const index = indexOf.get(key);
            if (index === undefined || seen.has(index)) return [];
            seen.add(index);
            return [{ row, index }];
          });
          if (rows.length > 0) {
            // A batch wholly in the gallery is passed on as is; otherwise its gallery images are copied out.
            const whole = rows.every((r, i) => r.row === i);
            const pixels = whole ? batch.images.subarray(0, rows.length * plane) : new Float32Array(rows.length * plane);
            if (!whole) rows.forEach((r, i) => pixels.set(batch.images.subarray(r.row * plane, (r.row + 1) * plane), i * plane));
            yield { pixels, shape: [rows.length, 3, batch.height, batch.width], indices: rows.map((r) => r.index) };
          }
          if (seen.size >= gallery.keys.length) break;
        }
      } finally {
        await loader.close();
      }
    },
  };
}
