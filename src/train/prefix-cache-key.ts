// What a cache of frozen-prefix features is valid for: the same prefix
// weights (the pretrained tower's file and what the import made of it), the
// same split point, resolution, preprocessing and augmentation, and the same
// number of fixed views. Runs and seeds share a cache only when all of these
// match; the store refuses a folder written under another key.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { PreprocessSpec } from '../data/index.js';
import type { HyperClip } from '../models/hyperclip.js';
import { pretrainedFile } from '../models/import/pretrained-ref.js';

/** Bump when what a cached entry holds changes meaning (layout, rounding, view seeding). */
const FORMAT = 1;

export interface PrefixCacheKey {
  format: number;
  /** The pretrained network the tower was imported from; null when it came from elsewhere (the prefix hash still pins it). */
  tower: { file: string; sha256: string } | null;
  /** sha256 over the names, shapes and values of every encoder tensor the prefix uses. */
  prefixSha256: string;
  prefixBlocks: number;
  preprocess: PreprocessSpec;
  views: number;
  dtype: 'float16';
  /** One entry's shape: [C, h, w]. */
  shape: number[];
}

/** The encoder's tensors outside the suffix (blocks from `blocks` on and the head): the stem, the leading blocks, the input adaptation. */
function prefixTensors(model: HyperClip, blocks: number): [string, Tensor][] {
  const suffix = (name: string): boolean => name.startsWith('head.') || (/^blocks\.(\d+)\./.exec(name) !== null && Number(/^blocks\.(\d+)\./.exec(name)![1]) >= blocks);
  return [...model.imageEncoder.stateDict()].filter(([name]) => !suffix(name)).sort(([a], [b]) => (a < b ? -1 : 1));
}

function prefixSha256(model: HyperClip, blocks: number): string {
  const hash = createHash('sha256');
  for (const [name, t] of prefixTensors(model, blocks)) {
    hash.update(`${name}:${t.dtype}:${t.shape.join('x')};`);
    const data = t.data();
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

function towerOf(initFrom: string | undefined): PrefixCacheKey['tower'] {
  const file = initFrom === undefined ? null : pretrainedFile(initFrom);
  if (file === null) return null;
  return { file: path.basename(file), sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}

/** A fixed, image-like input (no random draw: the run's generator stays where it was). */
function probeImages(n: number, size: number): Tensor {
  const data = Float32Array.from({ length: n * 3 * size * size }, (_, i) => Math.sin(i * 0.37 + Math.floor(i / (3 * size * size)) * 1.3));
  return tensor(data, [n, 3, size, size]);
}

/**
 * The prefix's output shape [C, h, w], after checking that the prefix (in
 * training mode, as it runs) gives each image the same features whatever
 * the batch and at every call: a norm with batch statistics or a random
 * drop path would make stored features wrong.
 */
export function cacheablePrefixShape(model: HyperClip, blocks: number): number[] {
  const size = model.config.image.imageSize;
  return noGrad(() => tidy(() => {
    const images = probeImages(2, size).to(model.logitScale.device);
    const prefix = (x: Tensor): Tensor => model.imageEncoder.forwardPrefix(x, blocks).to('cpu');
    const pair = prefix(images);
    const alone = prefix(images.slice(0, 0, 1));
    const again = prefix(images);
    const scale = Math.max(1e-6, pair.abs().amax().item());
    const batchGap = pair.slice(0, 0, 1).sub(alone).abs().amax().item() / scale;
    const callGap = pair.sub(again).abs().amax().item() / scale;
    if (!(batchGap < 1e-4 && callGap < 1e-4)) {
      throw new Error(`featureCache: the frozen prefix's output depends on the batch or on chance in training (batch statistics or drop path; ` +
        `differences ${batchGap.toExponential(1)}, ${callGap.toExponential(1)}): only a prefix with frozen norms (a pretrained tower) can be cached`);
    }
    return pair.shape.slice(1);
  }));
}

export function prefixCacheKey(model: HyperClip, blocks: number, shape: number[], setup: { preprocess: PreprocessSpec; views: number; initFrom?: string }): PrefixCacheKey {
  return {
    format: FORMAT, tower: towerOf(setup.initFrom), prefixSha256: prefixSha256(model, blocks), prefixBlocks: blocks,
    preprocess: setup.preprocess, views: setup.views, dtype: 'float16', shape,
  };
}

/** The default cache folder of a key: readable by a person, unique by the key's hash. */
export function prefixCacheFolder(root: string, key: PrefixCacheKey): string {
  const tower = key.tower === null ? 'encoder' : key.tower.file.replace(/\.tflite$/, '');
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 12);
  return path.join(root, `${tower}-${key.prefixBlocks}b-${key.preprocess.size}px-${key.views}v-${hash}`);
}
