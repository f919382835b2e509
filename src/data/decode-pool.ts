// A small pool of decoding worker threads (default: one per core). Size 0
// decodes in the calling thread (same results; used by tests and as fallback).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { decodeChunk, type DecodedChunk, type DecodeJob } from './decode-chunk.js';
import type { PreprocessSpec } from './preprocess.js';

interface Pending { resolve: (chunk: DecodedChunk) => void; reject: (error: Error) => void }

interface PoolWorker { worker: Worker; busy: number }

/** Images that own their whole ArrayBuffer move to the worker instead of being copied. */
function ownedBuffers(jobs: DecodeJob[]): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  for (const { image } of jobs) {
    const owned = image.byteOffset === 0 && image.byteLength === image.buffer.byteLength && image.buffer instanceof ArrayBuffer;
    if (!owned || seen.has(image.buffer)) return [];
    seen.add(image.buffer);
  }
  return [...seen] as ArrayBuffer[];
}

export class DecodePool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(readonly size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`expected a worker count >= 0, received ${size}`);
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  private spawn(): PoolWorker {
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url));
    const entry: PoolWorker = { worker, busy: 0 };
    worker.unref();
    worker.on('message', (reply: DecodedChunk & { id: number; failure?: string }) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (--entry.busy === 0) worker.unref();
      if (!pending) return;
      if (reply.failure) pending.reject(new Error(`decoding worker failed: ${reply.failure}`));
      else pending.resolve({ pixels: reply.pixels, errors: reply.errors });
    });
    worker.on('error', (error) => {
      for (const pending of this.pending.values()) pending.reject(new Error(`decoding worker crashed: ${error.message}`));
      this.pending.clear();
    });
    return entry;
  }

  /** Decodes a chunk on the least busy worker. */
  decode(jobs: DecodeJob[], spec: PreprocessSpec): Promise<DecodedChunk> {
    if (this.workers.length === 0) return decodeChunk(jobs, spec);
    const target = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    if (target.busy++ === 0) target.worker.ref();
    return new Promise<DecodedChunk>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      target.worker.postMessage({ id, jobs, spec }, ownedBuffers(jobs));
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }
}
