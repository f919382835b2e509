// The preprocessing spec and its pure pixel math. No Node imports: the
// browser app and the ONNX deployment import this file so that they apply
// exactly the evaluation preprocessing that training used.
import { createRng, type Rng } from './random.js';

export type CropMode = 'center' | 'random-resized';
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/** Serialisable description of how an image becomes a [3, size, size] float tensor. */
export interface PreprocessSpec {
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  crop: CropMode;
  /** Area fraction range of the random resized crop. */
  scale: [number, number];
  /** Aspect ratio range of the random resized crop. */
  ratio: [number, number];
  flip: boolean;
  kernel: ResizeKernel;
}

export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Evaluation preprocessing: central square, resized to size, normalised. */
export function evalPreprocess(size: number, overrides: Partial<PreprocessSpec> = {}): PreprocessSpec {
  return resolvePreprocess({ size, crop: 'center', flip: false, ...overrides });
}

/** Training preprocessing: random resized crop (scale 0.5..1 by default) and horizontal flip. */
export function trainPreprocess(size: number, overrides: Partial<PreprocessSpec> = {}): PreprocessSpec {
  return resolvePreprocess({ size, crop: 'random-resized', flip: true, ...overrides });
}

/** Fills defaults and validates once; every error names the field and the value received. */
export function resolvePreprocess(partial: Partial<PreprocessSpec> & { size: number }): PreprocessSpec {
  const spec: PreprocessSpec = {
    mean: CLIP_MEAN, std: CLIP_STD, crop: 'center', scale: [0.5, 1], ratio: [3 / 4, 4 / 3],
    flip: false, kernel: 'linear', ...partial,
  };
  const fail = (what: string, got: unknown) => {
    throw new Error(`invalid preprocessing: expected ${what} but received ${JSON.stringify(got)}`);
  };
  if (!Number.isInteger(spec.size) || spec.size < 1 || spec.size > 4096) fail('an integer size between 1 and 4096', spec.size);
  if (spec.mean.length !== 3 || !spec.mean.every(Number.isFinite)) fail('mean of 3 numbers', spec.mean);
  if (spec.std.length !== 3 || !spec.std.every((s) => s > 0)) fail('std of 3 positive numbers', spec.std);
  if (spec.crop !== 'center' && spec.crop !== 'random-resized') fail("crop 'center' or 'random-resized'", spec.crop);
  const [lo, hi] = spec.scale;
  if (!(lo > 0 && lo <= hi && hi <= 1)) fail('scale [lo, hi] with 0 < lo <= hi <= 1', spec.scale);
  if (!(spec.ratio[0] > 0 && spec.ratio[0] <= spec.ratio[1])) fail('ratio [lo, hi] with 0 < lo <= hi', spec.ratio);
  if (!['nearest', 'linear', 'cubic', 'lanczos3'].includes(spec.kernel)) fail('kernel nearest|linear|cubic|lanczos3', spec.kernel);
  return spec;
}

/** A region of the source image, in source pixels. */
export interface CropBox { left: number; top: number; width: number; height: number }

/** The central square of side min(width, height); resized to size it gives the evaluation input. */
export function centerCropBox(width: number, height: number): CropBox {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
}

/**
 * Random resized crop: a region covering a random fraction (within scale) of
 * the area with a log-uniform aspect ratio (within ratio); after 10 misses it
 * falls back to the central square.
 */
export function randomResizedCropBox(width: number, height: number, scale: [number, number], ratio: [number, number], rng: Rng): CropBox {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + rng() * (scale[1] - scale[0]));
    const aspect = Math.exp(logLo + rng() * (logHi - logLo));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w >= 1 && h >= 1 && w <= width && h <= height) {
      const left = Math.floor(rng() * (width - w + 1));
      const top = Math.floor(rng() * (height - h + 1));
      return { left, top, width: w, height: h };
    }
  }
  return centerCropBox(width, height);
}

/** The random choices for one sample, all derived from its seed. */
export interface Augmentation { box: CropBox; flip: boolean }

export function chooseAugmentation(spec: PreprocessSpec, width: number, height: number, seed: number): Augmentation {
  if (spec.crop === 'center') return { box: centerCropBox(width, height), flip: false };
  const rng = createRng(seed);
  const box = randomResizedCropBox(width, height, spec.scale, spec.ratio, rng);
  return { box, flip: spec.flip && rng() < 0.5 };
}

/**
 * Interleaved uint8 pixels [H, W, C] (C = 1..4; alpha dropped, grey
 * repeated) -> normalised planar float32 [3, H, W], written at `offset` of `out`.
 */
export function hwcToNormalizedChw(
  pixels: Uint8Array, width: number, height: number, channels: number,
  mean: readonly number[], std: readonly number[], flip = false,
  out: Float32Array = new Float32Array(3 * width * height), offset = 0,
): Float32Array {
  if (pixels.length < width * height * channels) {
    throw new Error(`pixel buffer holds ${pixels.length} bytes, expected ${width}x${height}x${channels}`);
  }
  const plane = width * height;
  const colour = channels >= 3;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]);
    const shift = mean[c] / std[c];
    const source = colour ? c : 0;
    const base = offset + c * plane;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const sx = flip ? width - 1 - x : x;
        out[base + row + x] = pixels[(row + sx) * channels + source] * scale - shift;
      }
    }
  }
  return out;
}
