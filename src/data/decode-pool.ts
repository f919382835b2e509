// A small pool of decoding worker threads (default: one per core). Size 0
// decodes in the calling thread (same results; used by tests and as fallback).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { decodeChunk, type DecodedChunk, type DecodeJob } from './decode-chunk.js';
import type { PreprocessSpec } from './preprocess.js';

interface Pending { resolve: (chunk: DecodedChunk) => void; reject: (error: Error) => void }

interface PoolWorker { worker: Worker; pending: Map<number, Pending> }

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
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`expected a worker count >= 0, received ${size}`);
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  private spawn(): PoolWorker {
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url));
    const entry: PoolWorker = { worker, pending: new Map() };
    // Workers stay referenced while the pool is open: toggling ref/unref per
    // chunk let Node exit silently with decodes still pending (seen in
    // back-to-back evaluations). close() ends them, and loaders always close.
    worker.on('message', (reply: DecodedChunk & { id: number; failure?: string }) => {
      const pending = entry.pending.get(reply.id);
      entry.pending.delete(reply.id);
      if (!pending) return;
      if (reply.failure) pending.reject(new Error(`decoding worker failed: ${reply.failure}`));
      else pending.resolve({ pixels: reply.pixels, errors: reply.errors });
    });
    worker.on('error', (error) => this.retire(entry, `decoding worker crashed: ${error.message}`));
    worker.on('exit', (code) => this.retire(entry, `decoding worker exited with code ${code}`));
    return entry;
  }

  /** A dead worker fails its chunks and is replaced, so later chunks never wait on it. */
  private retire(entry: PoolWorker, message: string): void {
    const index = this.workers.indexOf(entry);
    if (index < 0) return;
    for (const pending of entry.pending.values()) pending.reject(new Error(message));
    entry.pending.clear();
    if (this.closed) return;
    this.workers[index] = this.spawn();
  }

  /** Decodes a chunk on the least busy worker. */
  decode(jobs: DecodeJob[], spec: PreprocessSpec): Promise<DecodedChunk> {
    if (this.closed) return Promise.reject(new Error('the decoding pool is closed'));
    if (this.workers.length === 0) return decodeChunk(jobs, spec);
    const target = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<DecodedChunk>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.postMessage({ id, jobs, spec }, ownedBuffers(jobs));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
    for (const w of workers) for (const pending of w.pending.values()) pending.reject(new Error('the decoding pool is closed'));
  }
}
