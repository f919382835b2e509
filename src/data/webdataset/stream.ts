// A seeded, resumable stream of samples over one or several sources.
// Shards, per epoch: the shard order is shuffled by (seed, epoch), then
// samples pass through a shuffle buffer driven by (seed, epoch). Loose files
// (an image folder, a CSV): the whole list is permuted by (seed, epoch), as
// a list of paths costs nothing to shuffle. The position is just (epoch,
// samples consumed) per source plus the number of mixture draws, so
// resuming regenerates the same order and skips consumed samples without
// decoding them. Sources are mixed with weights by a counter-based hash.
import { readFileSamples, type FileList } from '../files/file-samples.js';
import { createRng, hash32, hashUniform, shuffled } from '../random.js';
import { iterateSamples, type RawSample } from './reader.js';
import { SkipCounter } from './skip-counter.js';

export interface SourcePosition { epoch: number; consumed: number }

/** JSON-serialisable position of a (mixed) sample stream. */
export interface StreamState { draws: number; sources: SourcePosition[] }

/** Where one source's samples are: WebDataset shards, or loose files. */
export type SourceFiles = { shards: string[]; files?: undefined } | { files: FileList; shards?: undefined };

export type SourceOptions = SourceFiles & {
  /** Mixture weight (relative); default 1. */
  weight?: number;
};

export interface StreamOptions {
  sources: SourceOptions[];
  seed?: number;
  /** Shuffle shards and samples; off for evaluation (stored order). */
  shuffle?: boolean;
  /** Samples held by the shuffle buffer. */
  bufferSize?: number;
  /** Passes over each source; Infinity repeats forever. */
  epochs?: number;
  skipCounter?: SkipCounter;
  state?: StreamState;
  /** The reader's limit on one member's size (reader.ts). */
  maxMemberBytes?: number;
}

export interface StreamItem {
  sample: RawSample;
  source: number;
  epoch: number;
  /** Position of the sample within its source's epoch. */
  index: number;
  /** Seed of this sample's random choices (augmentation, caption): a function of its position only. */
  seed: number;
  stateAfter: StreamState;
}

async function* shuffleBuffer(samples: AsyncIterable<RawSample>, size: number, seed: number): AsyncGenerator<RawSample> {
  const rng = createRng(seed);
  const buffer: RawSample[] = [];
  for await (const sample of samples) {
    if (buffer.length < size) { buffer.push(sample); continue; }
    const j = Math.floor(rng() * size);
    const out = buffer[j];
    buffer[j] = sample;
    yield out;
  }
  for (const sample of shuffled(buffer, rng)) yield sample;
}

/** One source: epochs of (shuffled) samples from a position on. */
class SourceReader {
  position: SourcePosition;
  private iterator: AsyncGenerator<RawSample> | null = null;

  constructor(
    private readonly source: SourceFiles, private readonly seed: number, private readonly shuffle: boolean,
    private readonly bufferSize: number, private readonly epochs: number,
    private readonly skips: SkipCounter, start: SourcePosition, private readonly maxMemberBytes?: number,
  ) {
    this.position = { ...start };
  }

  get exhausted(): boolean {
    return this.position.epoch >= this.epochs;
  }

  /** The epoch's samples from number `skip` on. */
  private async openEpoch(epoch: number, skip: number): Promise<AsyncGenerator<RawSample>> {
    const read = { skipCounter: this.skips, maxMemberBytes: this.maxMemberBytes };
    const { files, shards } = this.source;
    if (files !== undefined) {
      // One sample per listed file, so skipping is slicing the order: nothing consumed is read again.
      const all = [...files.files.keys()];
      const order = this.shuffle ? shuffled(all, createRng(hash32(this.seed, epoch, 1))) : all;
      return readFileSamples(files, order.slice(skip), read);
    }
    let samples: AsyncGenerator<RawSample>;
    if (!this.shuffle) samples = iterateSamples(shards, read);
    else {
      const order = shuffled(shards, createRng(hash32(this.seed, epoch, 1)));
      samples = shuffleBuffer(iterateSamples(order, read), this.bufferSize, hash32(this.seed, epoch, 2));
    }
    for (let i = 0; i < skip; i++) if ((await samples.next()).done) break;
    return samples;
  }

  private describe(): string {
    const { files, shards } = this.source;
    return files !== undefined ? `${files.origin} (${files.files.length} files)` : `${shards.length} shard(s) starting with ${shards[0]}`;
  }

  /** The next sample, or null when every epoch is done. */
  async next(): Promise<{ sample: RawSample; epoch: number; index: number } | null> {
    while (!this.exhausted) {
      this.iterator ??= await this.openEpoch(this.position.epoch, this.position.consumed);
      const { value, done } = await this.iterator.next();
      if (!done) {
        const index = this.position.consumed++;
        return { sample: value, epoch: this.position.epoch, index };
      }
      if (this.position.consumed === 0) {
        throw new Error(`no readable samples in ${this.describe()}: check the data (${this.skips.summary()})`);
      }
      this.iterator = null;
      this.position = { epoch: this.position.epoch + 1, consumed: 0 };
    }
    return null;
  }

  async close(): Promise<void> {
    await this.iterator?.return(undefined);
    this.iterator = null;
  }
}

export class SampleStream {
  private readonly readers: SourceReader[];
  private readonly weights: number[];
  private readonly seed: number;
  private draws: number;

  constructor(options: StreamOptions) {
    const { sources, seed = 0, shuffle = true, bufferSize = 1000, epochs = shuffle ? Infinity : 1 } = options;
    if (sources.length === 0) throw new Error('no data sources given: pass at least one shard list or dataset');
    const state = options.state ?? { draws: 0, sources: sources.map(() => ({ epoch: 0, consumed: 0 })) };
    if (state.sources.length !== sources.length) {
      throw new Error(`cannot resume: the saved position has ${state.sources.length} sources, the loader has ${sources.length}`);
    }
    this.weights = sources.map((s) => s.weight ?? 1);
    if (this.weights.some((w) => !(w >= 0)) || !this.weights.some((w) => w > 0)) {
      throw new Error(`mixture weights must be non-negative with at least one positive, received ${JSON.stringify(this.weights)}`);
    }
    this.seed = seed >>> 0;
    this.draws = state.draws;
    const skips = options.skipCounter ?? new SkipCounter();
    // What listing a folder or CSV passed over counts with what reading skips, once per stream.
    for (const source of sources) if (source.files !== undefined) skips.merge(source.files.skipped);
    this.readers = sources.map((source, i) => new SourceReader(
      source, hash32(this.seed, i), shuffle, Math.max(1, bufferSize), epochs, skips, state.sources[i], options.maxMemberBytes));
  }

  get state(): StreamState {
    return { draws: this.draws, sources: this.readers.map((r) => ({ ...r.position })) };
  }

  /** Picks the source of draw number `draw` among the sources not yet exhausted. */
  private chooseSource(draw: number, open: boolean[]): number {
    let total = 0;
    for (let i = 0; i < this.weights.length; i++) if (open[i]) total += this.weights[i];
    let u = hashUniform(this.seed, draw, 0x51) * total;
    let last = -1;
    for (let i = 0; i < this.weights.length; i++) {
      if (!open[i] || this.weights[i] === 0) continue;
      last = i;
      if (u < this.weights[i]) return i;
      u -= this.weights[i];
    }
    return last;
  }

  async next(): Promise<StreamItem | null> {
    const open = this.readers.map((r) => !r.exhausted);
    while (open.some((o, i) => o && this.weights[i] > 0)) {
      const source = this.chooseSource(this.draws, open);
      const got = await this.readers[source].next();
      if (!got) { open[source] = false; continue; }
      this.draws++;
      const seed = hash32(this.seed, source, got.epoch, got.index);
      return { ...got, source, seed, stateAfter: this.state };
    }
    return null;
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }
}
