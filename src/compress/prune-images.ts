// Unlabelled calibration images for a classifier: a seeded draw of n images
// from WebDataset shards (annotations ignored) or from a folder of image
// files, preprocessed exactly as the classifier expects its input.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRng, decodeImage, expandShards, imageMember, iterateSamples, resolveDatasetSpec, DATASETS, type PreprocessSpec } from '../data/index.js';

export interface CalibrationImages {
  pixels: Float32Array; // [n, 3, H, W]
  count: number;
  description: string;
}

const IMAGE_FILE = /\.(jpe?g|png|webp|gif|tiff?|avif|bmp)$/i;

/** Reservoir sampling: n items of a stream, each equally likely, reproducible by seed. */
async function reservoir(items: AsyncIterable<Uint8Array>, n: number, seed: number): Promise<{ chosen: Uint8Array[]; seen: number }> {
  const rng = createRng(seed);
  const chosen: Uint8Array[] = [];
  let seen = 0;
  for await (const item of items) {
    if (chosen.length < n) chosen.push(item);
    else {
      const j = Math.floor(rng() * (seen + 1));
      if (j < n) chosen[j] = item;
    }
    seen++;
  }
  return { chosen, seen };
}

async function* shardImages(shards: string[]): AsyncGenerator<Uint8Array> {
  for await (const sample of iterateSamples(shards)) {
    const image = imageMember(sample);
    if (image) yield image;
  }
}

async function* folderImages(dir: string): AsyncGenerator<Uint8Array> {
  for (const f of readdirSync(dir).filter((f) => IMAGE_FILE.test(f)).sort()) yield readFileSync(path.join(dir, f));
}

export async function readCalibrationImages(spec: string, n: number, seed: number, preprocess: PreprocessSpec, minimum: number): Promise<CalibrationImages> {
  if (!Number.isInteger(n) || n < minimum) {
    throw new Error(`too few calibration samples: --calib-n is ${n}, at least ${minimum} are needed to measure activation norms`);
  }
  const isFolder = existsSync(spec) && statSync(spec).isDirectory();
  const named = /^([a-z0-9]+):([a-z]+)$/.exec(spec);
  const shards = isFolder ? [] : named && named[1]! in DATASETS ? resolveDatasetSpec(spec).shards : expandShards(spec);
  const { chosen, seen } = await reservoir(isFolder ? folderImages(spec) : shardImages(shards), n, seed);
  if (chosen.length < n) throw new Error(`too few calibration samples: ${spec} holds ${seen} image(s), --calib-n asks for ${n}`);
  const perImage = 3 * preprocess.size * preprocess.size;
  const pixels = new Float32Array(n * perImage);
  for (let i = 0; i < n; i++) {
    try {
      await decodeImage(chosen[i]!, preprocess, 0, pixels, i * perImage);
    } catch (err) {
      throw new Error(`a calibration image of ${spec} cannot be decoded (${(err as Error).message})`);
    }
  }
  return { pixels, count: n, description: `${n} images of ${spec}, seed ${seed}` };
}
