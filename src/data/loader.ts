// The batch loader: a seeded, resumable sample stream -> captions and labels
// -> images decoded by a worker pool -> float32 NCHW batches, prefetched.
// Batches come out in a fixed order whatever the worker timing, so a run
// resumed from state() sees exactly the batches it would have seen.
import { availableParallelism } from 'node:os';
import { OUTSIDE_SUBSET, annotate, imageMember, type CaptionSource } from './captions.js';
import { DecodePool } from './decode-pool.js';
import { PIXEL_LIMIT_MESSAGE } from './images.js';
import type { DecodedChunk, DecodeJob } from './decode-chunk.js';
import type { PreprocessSpec } from './preprocess.js';
import { assertShardsExist, expandShards } from './webdataset/shards.js';
import { SkipCounter, type SkipReason } from './webdataset/skip-counter.js';
import { SampleStream, type StreamState } from './webdataset/stream.js';

export interface Batch {
  images: Float32Array; // [N, 3, H, W]
  size: number;
  height: number;
  width: number;
  captions: string[];
  /** Class indices (-1 for samples of unlabelled sources); null when no source is labelled. */
  labels: Int32Array | null;
  /** The index of each sample's source in the loader's sources (labels are per source). */
  sources: Int32Array;
  keys: string[];
}

export interface LoaderSource {
  shards: string | string[];
  caption: CaptionSource;
  weight?: number;
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
}

export type LoaderState = StreamState;

const UNUSABLE_RUN_LIMIT = 1000;

interface Prepared { key: string; source: number; caption: string; label: number; stateAfter: StreamState }

interface Decoded { pixels: Float32Array; meta: Prepared }

interface Chunk { meta: Prepared[]; result: Promise<DecodedChunk> }

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
    const shardLists = sources.map((s) => expandShards(s.shards));
    assertShardsExist(shardLists.flat());
    this.skips = options.skipCounter ?? new SkipCounter();
    this.sources = sources;
    this.labelled = sources.some((s) => s.caption.kind === 'label');
    this.stream = new SampleStream({
      sources: shardLists.map((shards, i) => ({ shards, weight: sources[i].weight })),
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
          const result = this.pool.decode(jobs, this.options.preprocess);
          // Awaited later by collect(); a failure before then must not count as unhandled.
          result.catch(() => undefined);
          this.queue.push({ meta, result });
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
      jobs.push({ image, seed: item.seed });
      meta.push({ key: item.sample.key, source: item.source, caption: annotation.caption, label: annotation.label, stateAfter: item.stateAfter });
    }
    return { jobs, meta };
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
      const perImage = pixels.length / head.meta.length;
      head.meta.forEach((meta, i) => {
        if (errors[i] !== null) this.skips.add(errors[i] === PIXEL_LIMIT_MESSAGE ? 'image_too_large' : 'corrupt_image', `${meta.key}: ${errors[i]}`);
        else this.ready.push({ pixels: pixels.subarray(i * perImage, (i + 1) * perImage), meta });
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
    const images = new Float32Array(taken.length * perImage); // [N, 3, H, W]
    taken.forEach((d, i) => images.set(d.pixels, i * perImage));
    this.position = taken[taken.length - 1].meta.stateAfter;
    return {
      images, size: taken.length, height: size, width: size,
      captions: taken.map((d) => d.meta.caption),
      labels: this.labelled ? Int32Array.from(taken, (d) => d.meta.label) : null,
      sources: Int32Array.from(taken, (d) => d.meta.source),
      keys: taken.map((d) => d.meta.key),
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
