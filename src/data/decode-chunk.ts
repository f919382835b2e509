// Decoding of a chunk of images into one float32 block; the same code runs
// in worker threads and in the calling thread.
import { decodeImage } from './images.js';
import type { PreprocessSpec } from './preprocess.js';

export interface DecodeJob { image: Uint8Array; seed: number }

export interface DecodedChunk {
  /** [k, 3, size, size]; rows of failed images are left as zeros. */
  pixels: Float32Array;
  /** Per job: null, or why it failed. */
  errors: (string | null)[];
}

export async function decodeChunk(jobs: DecodeJob[], spec: PreprocessSpec): Promise<DecodedChunk> {
  const perImage = 3 * spec.size * spec.size;
  const pixels = new Float32Array(jobs.length * perImage);
  const errors = await Promise.all(jobs.map(async (job, i) => {
    try {
      await decodeImage(job.image, spec, job.seed, pixels, i * perImage);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }));
  return { pixels, errors };
}
