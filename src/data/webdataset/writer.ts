// Writes WebDataset shards: samples in order, each a run of tar members
// KEY.EXT sharing a key, a new shard every maxSamples samples. Headers carry
// no time or owner, so the same samples give the same bytes. A shard is
// written under a temporary name and renamed when complete: a stopped run
// never leaves a truncated shard that looks whole.
import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar-stream';

export interface ShardWriterOptions {
  /** Shard file names: PREFIX-000000.tar, PREFIX-000001.tar, ... (default "shard"). */
  prefix?: string;
  /** Samples per shard (default 10000, img2dataset's). */
  maxSamples?: number;
}

interface OpenShard { pack: tar.Pack; file: WriteStream; done: Promise<void>; temporary: string; final: string; samples: number }

const FIXED_HEADER = { mtime: new Date(0), mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' };

export class ShardWriter {
  /** Completed shards, in order. */
  readonly shards: string[] = [];
  /** Bytes of the completed shards. */
  bytes = 0;
  private current: OpenShard | null = null;
  private readonly prefix: string;
  private readonly maxSamples: number;

  constructor(private readonly dir: string, options: ShardWriterOptions = {}) {
    this.prefix = options.prefix ?? 'shard';
    this.maxSamples = options.maxSamples ?? 10_000;
    if (!Number.isInteger(this.maxSamples) || this.maxSamples < 1) throw new Error(`expected at least 1 sample per shard, received ${this.maxSamples}`);
    if (!/^[\w-]+$/.test(this.prefix)) throw new Error(`a shard prefix is letters, digits, - and _, received "${this.prefix}"`);
  }

  private open(): OpenShard {
    const final = path.join(this.dir, `${this.prefix}-${String(this.shards.length).padStart(6, '0')}.tar`);
    const temporary = `${final}.partial`;
    const pack = tar.pack();
    const file = createWriteStream(temporary);
    const done = new Promise<void>((resolve, reject) => {
      file.on('finish', resolve);
      file.on('error', reject);
      pack.on('error', reject);
    });
    pack.pipe(file);
    return { pack, file, done, temporary, final, samples: 0 };
  }

  /** Adds one sample: its key (no dots: WebDataset splits names at the first dot) and its members, extension -> bytes. */
  async write(key: string, members: [string, Uint8Array][]): Promise<void> {
    if (key.includes('.') || key === '') throw new Error(`a sample key must be non-empty and hold no dot, received "${key}"`);
    const shard = this.current ??= this.open();
    for (const [extension, body] of members) {
      await new Promise<void>((resolve, reject) => {
        shard.pack.entry({ ...FIXED_HEADER, name: `${key}.${extension}`, size: body.byteLength }, Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          (error) => (error ? reject(error) : resolve()));
      });
    }
    if (++shard.samples === this.maxSamples) await this.finishShard();
  }

  private async finishShard(): Promise<void> {
    const shard = this.current;
    if (shard === null) return;
    this.current = null;
    shard.pack.finalize();
    await shard.done;
    renameSync(shard.temporary, shard.final);
    this.shards.push(shard.final);
    this.bytes += shard.file.bytesWritten;
  }

  /** Stops after a failure: the shard in progress is removed (completed shards stay). */
  abort(): void {
    const shard = this.current;
    this.current = null;
    if (shard === null) return;
    shard.pack.destroy();
    shard.file.destroy();
    rmSync(shard.temporary, { force: true });
  }

  /** Completes the last shard; returns every shard written. */
  async close(): Promise<string[]> {
    await this.finishShard();
    return this.shards;
  }
}
