// Unlabelled calibration images for a classifier: a seeded draw of n images
// from any dataset resolveData reads (shards, a folder of images or of class
// folders, a CSV, a list of images; annotations ignored), preprocessed
// exactly as the classifier expects its input. Images that do not decode are
// skipped and counted, as everywhere data is read.
import { createLoader, resolveData, type CsvColumns, type PreprocessSpec } from '../data/index.js';

export interface CalibrationImages {
  pixels: Float32Array; // [n, 3, H, W]
  count: number;
  description: string;
}

export async function readCalibrationImages(spec: string, n: number, seed: number, preprocess: PreprocessSpec, minimum: number, csv?: CsvColumns): Promise<CalibrationImages> {
  if (!Number.isInteger(n) || n < minimum) {
    throw new Error(`too few calibration samples: --calib-n is ${n}, at least ${minimum} are needed to measure activation norms`);
  }
  const { source } = resolveData(spec, { need: 'images', csv });
  const loader = createLoader({
    sources: [{ ...source, caption: { kind: 'none' } }], batchSize: n, preprocess, shuffle: true, epochs: 1, shuffleBuffer: 2000, seed, workers: 0,
  });
  try {
    for await (const batch of loader) {
      if (batch.size < n) break;
      const skipped = loader.skips.total > 0 ? ` (${loader.skips.summary()})` : '';
      return { pixels: batch.images, count: n, description: `${n} images of ${spec}, seed ${seed}${skipped}` };
    }
  } finally {
    await loader.close();
  }
  throw new Error(`too few calibration samples: ${spec} holds fewer than the ${n} usable images --calib-n asks for (${loader.skips.summary()})`);
}
