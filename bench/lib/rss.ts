// Resident-memory samples and their trend: a least-squares slope over the
// second half of a soak (the first half holds the warm-up: allocator pools,
// caches and the shuffle buffer filling).

import { liveTensorCount, mallocStats } from '../../src/engine/index.js';

/**
 * Resident memory and where it could sit, at one point of a soak: the V8
 * heap in use, Node's buffers outside it, the C heap (in use by live
 * allocations, and freed but kept by the allocator) and the engine's
 * undisposed tensors.
 */
export interface RssSample {
  x: number; seconds: number; rssMb: number;
  heapMb?: number; externalMb?: number; mallocInUseMb?: number; mallocFreeMb?: number; tensors?: number;
}

export class RssRecorder {
  readonly samples: RssSample[] = [];
  private readonly started = performance.now();

  sample(x: number): void {
    const memory = process.memoryUsage();
    const heap = mallocStats();
    const mb = (bytes: number) => bytes / 2 ** 20;
    this.samples.push({
      x, seconds: (performance.now() - this.started) / 1000, rssMb: mb(memory.rss), heapMb: mb(memory.heapUsed), externalMb: mb(memory.external),
      mallocInUseMb: mb(heap.inUse), mallocFreeMb: mb(heap.free), tensors: liveTensorCount(),
    });
  }
}

/** Slope (MB per unit of x) of the least-squares line through the samples with x past half the range. */
export function secondHalfSlope(samples: RssSample[]): number {
  if (samples.length < 2) return NaN;
  const end = samples.at(-1)!.x;
  const half = samples.filter((s) => s.x >= end / 2);
  const n = half.length;
  const meanX = half.reduce((a, s) => a + s.x, 0) / n;
  const meanY = half.reduce((a, s) => a + s.rssMb, 0) / n;
  let sxy = 0, sxx = 0;
  for (const s of half) { sxy += (s.x - meanX) * (s.rssMb - meanY); sxx += (s.x - meanX) ** 2; }
  return sxx === 0 ? NaN : sxy / sxx;
}
