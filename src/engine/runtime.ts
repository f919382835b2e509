// Process-wide engine settings: gradient mode, random seed and state, threads, devices.
import { availableParallelism } from 'node:os';
import { native } from './native.js';

/** Whether the libtorch addon is built here (checked without loading it: generation and classification never need it). */
export { addonBuilt } from './native.js';

/** Runs fn without recording autograd history. */
export function noGrad<T>(fn: () => T): T {
  const previous = native().setGradEnabled(false);
  try {
    return fn();
  } finally {
    native().setGradEnabled(previous);
  }
}

export const isGradEnabled = (): boolean => native().isGradEnabled();

export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  native().manualSeed(seed);
}

/** The CPU generator's state, to save in a checkpoint. */
export const getRngState = (): Uint8Array => new Uint8Array(native().getRngState());
export const setRngState = (state: Uint8Array): void => native().setRngState(state);

export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  native().setNumThreads(threads);
}
export const getNumThreads = (): number => native().getNumThreads();
/** Sets libtorch's intra-op threads to every core unless HYPERCLIP_THREADS says otherwise. */
export function useAllCores(): number {
  const threads = Number(process.env.HYPERCLIP_THREADS ?? availableParallelism());
  setNumThreads(threads);
  return threads;
}

export const cudaAvailable = (): boolean => native().cudaAvailable();
export const libtorchVersion = (): string => native().version();
export const parallelInfo = (): string => native().parallelInfo();

/**
 * Returns freed native memory to the operating system. The addon keeps freed
 * tensor memory for reuse (so training steps do not page-fault their working
 * set again); call this after a phase with a large peak, e.g. a big evaluation.
 */
export const releaseMemory = (): boolean => native().releaseMemory();

/** The C heap over all arenas, in bytes: held by live allocations, and freed but kept by the allocator. */
export const mallocStats = (): { inUse: number; free: number } => native().mallocStats();
