// The batch loader: a seeded, resumable sample stream -> captions and labels
// -> images decoded by a worker pool -> float32 NCHW batches, prefetched.
// Batches come out in a fixed order whatever the worker timing, so a run
// resumed from state() sees exactly the batches it would have seen. With
// fixed views (fixed-views.ts) each draw takes one of K per-image views, and
// a view whose features a store holds is not decoded at all.
import { availableParallelism } from 'node:os';
import { OUTSIDE_SUBSET, annotate, imageMember, type CaptionSource } from './captions.js';
import { DecodePool } from './decode-pool.js';
import { checkFixedViews, sampleId, viewOfDraw, viewSeed, type BatchViews, type FixedViews } from './fixed-views.js';
import { PIXEL_LIMIT_MESSAGE } from './images.js';
import type { DecodedChunk, DecodeJob } from './decode-chunk.js';
import type { PreprocessSpec } from './preprocess.js';
import { assertShardsExist, expandShards } from './webdataset/shards.js';
import { SkipCounter, type SkipReason } from './webdataset/skip-counter.js';
import { SampleStream, type SourceFiles, type StreamState } from './webdataset/stream.js';
import type { FileList } from './files/file-samples.js';

export interface Batch {
  /** [N, 3, H, W]; with stored view features (views.stored), only the samples decoded: [D, 3, H, W], in batch order. */
  images: Float32Array;
  size: number;
  height: number;
  width: number;
  captions: string[];
  /** Class indices (-1 for samples of unlabelled sources); null when no source is labelled. */
  labels: Int32Array | null;
  /** The index of each sample's source in the loader's sources (labels are per source). */
  sources: Int32Array;
  keys: string[];
  /** With fixed views (LoaderOptions.views): each sample's identity, view and stored features. */
  views?: BatchViews;
}

/** Shard paths or patterns (expanded by expandShards), or loose files (an image folder, a CSV: resolveData). */
export type LoaderFiles = { shards: string | string[]; files?: undefined } | { files: FileList; shards?: undefined };

export type LoaderSource = LoaderFiles & {
  caption: CaptionSource;
  weight?: number;
  /** The dataset it comes from ("flickr8k:train"): names its images across runs (fixed views need it). */
  name?: string;
};

/** A loader source's samples as the stream takes them: shard patterns expanded and checked, before anything starts. */
export function streamSource(source: LoaderFiles): SourceFiles {
  if (source.files !== undefined) return { files: source.files };
  const shards = expandShards(source.shards);
  assertShardsExist(shards);
  return { shards };
}

export interface LoaderOptions {
  sources: LoaderSource[];
  batchSize: number;
  preprocess: PreprocessSpec;
  seed?: number;
  /** Shuffled and repeating (training) by default; false: one pass in stored order (evaluation). */
  shuffle?: boolean;
  shuffleBuffer?: number;
  /** Passes over each source; default Infinity when shuffling, else 1. */
  epochs?: number;
  /** Decoding threads; default one per core, 0 = decode in this thread. */
  workers?: number;
  /** Batches decoded ahead of the consumer. */
  prefetch?: number;
  /** Drop a final partial batch (default: keep it). */
  dropLast?: boolean;
  /** A position saved by state(), to resume. */
  state?: LoaderState;
  skipCounter?: SkipCounter;
  /** Members larger than this are dropped unread and their sample counted (default 64 MiB). */
  maxMemberBytes?: number;
  /** K fixed augmented views per image instead of a fresh augmentation per draw; with a store, stored views skip decoding. */
  views?: FixedViews;
}

export type LoaderState = StreamState;

const UNUSABLE_RUN_LIMIT = 1000;

/** id and view: -1 and '' without fixed views. */
interface Prepared { key: string; source: number; caption: string; label: number; stateAfter: StreamState; id: string; view: number }

/** A sample ready for a batch: its pixels, or (a stored view) its stored features. */
interface Decoded { pixels: Float32Array | null; stored: Uint8Array | null; meta: Prepared }

/** `result` decodes the samples whose `stored` entry is null (all of them without a store), in order. */
interface Chunk { meta: Prepared[]; stored: (Uint8Array | null)[] | null; result: Promise<DecodedChunk> }

const NOTHING_TO_DECODE: DecodedChunk = { pixels: new Float32Array(0), errors: [] };

export class DataLoader implements AsyncIterable<Batch> {
  readonly skips: SkipCounter;
  private readonly stream: SampleStream;
  private readonly pool: DecodePool;
  private readonly sources: LoaderSource[];
  private readonly labelled: boolean;
  private readonly chunkSize: number;
  private readonly capacity: number;
  /** Decode chunks in stream order, and the number of samples they hold. */
  private readonly queue: Chunk[] = [];
  private queued = 0;
  /** Decoded samples not yet handed out. */
  private ready: Decoded[] = [];
  private ended = false;
  private failure: Error | null = null;
  private position: LoaderState;
  private pumping: Promise<void> | null = null;
  private previous: Promise<void> = Promise.resolve();
  private wakeConsumer: (() => void) | null = null;
  private wakePump: (() => void) | null = null;
  private unusableRun = 0;
  private closed = false;

  constructor(private readonly options: LoaderOptions) {
    const { batchSize, sources } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`expected a batch size >= 1, received ${batchSize}`);
    if (sources.length === 0) throw new Error('no data sources given: pass at least one shard list or dataset');
    if (options.views !== undefined) checkFixedViews(options.views, sources.map((s) => s.name));
    const streamed = sources.map(streamSource);
    this.skips = options.skipCounter ?? new SkipCounter();
    this.sources = sources;
    this.labelled = sources.some((s) => s.caption.kind === 'label');
    this.stream = new SampleStream({
      sources: streamed.map((files, i) => ({ ...files, weight: sources[i].weight })),
      seed: options.seed, shuffle: options.shuffle, bufferSize: options.shuffleBuffer,
      epochs: options.epochs, skipCounter: this.skips, state: options.state, maxMemberBytes: options.maxMemberBytes,
    });
    this.position = this.stream.state;
    const workers = options.workers ?? availableParallelism();
    this.pool = new DecodePool(workers);
    this.chunkSize = Math.max(4, Math.min(64, Math.ceil(batchSize / Math.max(1, 2 * workers))));
    this.capacity = Math.max(1, options.prefetch ?? 4) * batchSize;
  }

  /** The position after the last batch handed out: pass it as options.state to resume. */
  state(): LoaderState {
    return structuredClone(this.position);
  }

  /** Reads raw samples into decode chunks while fewer than `capacity` samples wait. */
  private async pump(): Promise<void> {
    try {
      while (!this.ended) {
        if (this.queued >= this.capacity) {
          await new Promise<void>((resolve) => { this.wakePump = resolve; });
          continue;
        }
        const { jobs, meta } = await this.readChunk();
        if (jobs.length > 0) {
          const stored = this.storedViews(meta);
          const toDecode = stored === null ? jobs : jobs.filter((_, i) => stored[i] === null);
          const result = toDecode.length > 0 ? this.pool.decode(toDecode, this.options.preprocess) : Promise.resolve(NOTHING_TO_DECODE);
          // Awaited later by collect(); a failure before then must not count as unhandled.
          result.catch(() => undefined);
          this.queue.push({ meta, stored, result });
          this.queued += jobs.length;
        }
        this.notifyConsumer();
      }
    } catch (error) {
      this.failure = error as Error;
      this.ended = true;
    }
    this.notifyConsumer();
  }

  /** Up to chunkSize usable samples: image bytes to decode plus caption, label and position. */
  private async readChunk(): Promise<{ jobs: DecodeJob[]; meta: Prepared[] }> {
    const jobs: DecodeJob[] = [];
    const meta: Prepared[] = [];
    while (jobs.length < this.chunkSize) {
      const item = await this.stream.next();
      if (!item) { this.ended = true; break; }
      const image = imageMember(item.sample);
      const annotation = annotate(item.sample, this.sources[item.source].caption, item.seed);
      if (annotation === OUTSIDE_SUBSET) continue;
      if (!image || typeof annotation === 'string') {
        // A damaged sample lacks a member because of its damage (corrupt header, oversized member), whatever it lacks.
        const { damaged, shard, key } = item.sample;
        const reason = damaged?.reason ?? (image ? annotation as SkipReason : 'missing_image');
        this.skips.add(reason, damaged ? `${shard}:${key} (${damaged.detail})` : `${shard}:${key}`);
        this.assertSomeUsable();
        continue;
      }
      this.unusableRun = 0;
      const { key } = item.sample;
      const views = this.options.views;
      const id = views === undefined ? '' : sampleId(this.sources[item.source].name!, key);
      const view = views === undefined ? -1 : viewOfDraw(item.seed, views.count);
      jobs.push({ image, seed: views === undefined ? item.seed : viewSeed(id, view) });
      meta.push({ key, source: item.source, caption: annotation.caption, label: annotation.label, stateAfter: item.stateAfter, id, view });
    }
    return { jobs, meta };
  }

  /** Per sample, the store's features of its view (null: to decode); null without a store. */
  private storedViews(meta: Prepared[]): (Uint8Array | null)[] | null {
    const store = this.options.views?.store;
    return store == null ? null : meta.map((m) => store.read(m.id, m.view));
  }

  /** Bad samples are skipped, but a long unbroken run of them means the loader is set up wrong. */
  private assertSomeUsable(): void {
    if (++this.unusableRun < UNUSABLE_RUN_LIMIT) return;
    throw new Error(`${UNUSABLE_RUN_LIMIT} samples in a row had no usable image and caption (${this.skips.summary()}): `
      + 'check that each source\'s caption kind matches its shards (text: .json/.txt, label: .cls)');
  }

  private notifyConsumer(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }

  private notifyPump(): void {
    const wake = this.wakePump;
    this.wakePump = null;
    wake?.();
  }

  /** Takes decoded samples in stream order until a batch is full or the data ends. */
  private async collect(count: number): Promise<void> {
    while (this.ready.length < count) {
      if (this.failure) throw this.failure;
      const head = this.queue.shift();
      if (!head) {
        if (this.ended) return;
        await new Promise<void>((resolve) => { this.wakeConsumer = resolve; });
        continue;
      }
      this.queued -= head.meta.length;
      this.notifyPump();
      const { pixels, errors } = await head.result;
      const perImage = 3 * this.options.preprocess.size ** 2;
      let decoded = 0;
      head.meta.forEach((meta, i) => {
        const stored = head.stored?.[i] ?? null;
        if (stored !== null) {
          this.ready.push({ pixels: null, stored, meta });
          return;
        }
        const d = decoded++;
        if (errors[d] !== null) this.skips.add(errors[d] === PIXEL_LIMIT_MESSAGE ? 'image_too_large' : 'corrupt_image', `${meta.key}: ${errors[d]}`);
        else this.ready.push({ pixels: pixels.subarray(d * perImage, (d + 1) * perImage), stored: null, meta });
      });
    }
  }

  /** The next batch, or null at the end of the data. Calls may overlap; batches keep their order. */
  next(): Promise<Batch | null> {
    const batch = this.previous.then(() => this.nextBatch());
    this.previous = batch.then(() => undefined, () => undefined);
    return batch;
  }

  private async nextBatch(): Promise<Batch | null> {
    this.pumping ??= this.pump();
    const { batchSize, preprocess, dropLast = false } = this.options;
    await this.collect(batchSize);
    const taken = this.ready.splice(0, batchSize);
    if (taken.length === 0 || (dropLast && taken.length < batchSize)) return null;
    const size = preprocess.size;
    const perImage = 3 * size * size;
    const withPixels = taken.filter((d) => d.pixels !== null);
    const images = new Float32Array(withPixels.length * perImage); // [N, 3, H, W], or [D, 3, H, W] with stored views
    withPixels.forEach((d, i) => images.set(d.pixels!, i * perImage));
    this.position = taken[taken.length - 1].meta.stateAfter;
    const views: BatchViews | undefined = this.options.views === undefined ? undefined
      : { ids: taken.map((d) => d.meta.id), index: Int32Array.from(taken, (d) => d.meta.view), stored: taken.map((d) => d.stored) };
    return {
      images, size: taken.length, height: size, width: size,
      captions: taken.map((d) => d.meta.caption),
      labels: this.labelled ? Int32Array.from(taken, (d) => d.meta.label) : null,
      sources: Int32Array.from(taken, (d) => d.meta.source),
      keys: taken.map((d) => d.meta.key),
      ...(views === undefined ? {} : { views }),
    };
  }

  /** for-await over the batches; leaving the loop (end, break or error) closes the loader. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    try {
      for (let batch = await this.next(); batch; batch = await this.next()) yield batch;
    } finally {
      await this.close();
    }
  }

  /** Stops reading and ends the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.notifyPump();
    await this.pumping?.catch(() => undefined);
    await this.stream.close();
    await this.pool.close();
  }
}

export function createLoader(options: LoaderOptions): DataLoader {
  return new DataLoader(options);
}
