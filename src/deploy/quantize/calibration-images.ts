// The user's unlabelled images for calibration, read as the classifier reads
// them at deployment (its evaluation preprocessing) through the project's
// loader: any data resolveData accepts, a seeded draw of at most `limit`
// images, corrupt or unreadable files skipped and counted. All of them are
// held at once (256 images at 160 px are 79 MB): calibration runs over them
// after the float classifier exists.
import { createLoader, type ResolvedData } from '../../data/index.js';
import type { PreprocessSpec } from '../../data/preprocess.js';

export interface CalibrationSet {
  /** [count, 3, H, W] normalised pixels. */
  pixels: Float32Array;
  count: number;
  /** The loader's skip summary ("skipped 0", or "skipped 2: corrupt_image 2 (e.g. ...)"). */
  skipped: string;
  /** For records and summaries: "256 images of photos/". */
  description: string;
}

const READ_BATCH = 32;

export async function readCalibrationSet(data: ResolvedData, limit: number, preprocess: PreprocessSpec, options: { seed?: number; onProgress?: (done: number, limit: number) => void } = {}): Promise<CalibrationSet> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`the calibration image count must be a positive integer, got ${limit}`);
  const perImage = 3 * preprocess.size * preprocess.size;
  const loader = createLoader({
    sources: [{ ...data.source, caption: { kind: 'none' } }], batchSize: Math.min(READ_BATCH, limit), preprocess,
    shuffle: true, epochs: 1, shuffleBuffer: 2000, seed: options.seed ?? 0,
  });
  const batches: Float32Array[] = [];
  let count = 0;
  try {
    for await (const batch of loader) {
      const take = Math.min(batch.size, limit - count);
      batches.push(batch.images.slice(0, take * perImage)); // a copy: the loader may reuse its buffers
      count += take;
      options.onProgress?.(count, limit);
      if (count >= limit) break;
    }
  } finally {
    await loader.close();
  }
  const skipped = loader.skips.summary();
  if (count === 0) throw new Error(`no readable image in ${data.name} (${skipped}): calibration needs images the classifier can decode (.jpg, .png, .webp, ...)`);
  const pixels = new Float32Array(count * perImage);
  let offset = 0;
  for (const b of batches) {
    pixels.set(b, offset);
    offset += b.length;
  }
  const note = loader.skips.total > 0 ? `, ${skipped}` : '';
  return { pixels, count, skipped, description: `${count} image${count === 1 ? '' : 's'} of ${data.name}${note}` };
}
