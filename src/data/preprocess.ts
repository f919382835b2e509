// The preprocessing spec and its pure pixel math. No Node imports: the
// browser app and the ONNX deployment import this file so that they apply
// exactly the evaluation preprocessing that training used.
import { createRng, type Rng } from './random.js';

export type CropMode = 'center' | 'random-resized';
/** Resampling filter; its support widens when shrinking, so downscaling averages (antialiasing). */
export type ResizeKernel = 'box' | 'linear' | 'cubic';

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
  if (!(spec.kernel in KERNELS)) fail('kernel box|linear|cubic', spec.kernel);
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

/** Decoded interleaved pixels [H, W, C], C = 1..4 (grey, grey+alpha, RGB, RGBA). */
export interface RawImage { data: Uint8Array; width: number; height: number; channels: number }

interface Kernel { support: number; weight: (x: number) => number }

const KERNELS: Record<ResizeKernel, Kernel> = {
  box: { support: 0.5, weight: (x) => (x >= -0.5 && x < 0.5 ? 1 : 0) },
  linear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  cubic: {
    support: 2,
    weight: (x) => {
      // Keys cubic with a = -0.5.
      const t = Math.abs(x);
      if (t < 1) return (1.5 * t - 2.5) * t * t + 1;
      if (t < 2) return ((-0.5 * t + 2.5) * t - 4) * t + 2;
      return 0;
    },
  },
};

/** Per output index: first source index and `taps` normalised weights (zero padded). */
interface AxisWeights { first: Int32Array; weights: Float32Array; taps: number }

function axisWeights(start: number, length: number, outLength: number, kernel: Kernel): AxisWeights {
  const scale = length / outLength;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outLength);
  const weights = new Float32Array(outLength * taps);
  for (let i = 0; i < outLength; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(length, Math.ceil(centre + support), lo + taps);
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = kernel.weight((j + 0.5 - centre) / filterScale);
      weights[i * taps + j - lo] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < taps; k++) weights[i * taps + k] /= sum;
    first[i] = start + lo;
  }
  return { first, weights, taps };
}

/** Horizontal pass over the rows of the box: -> float [box.height, size, 3]. */
function resampleRows(image: RawImage, box: CropBox, size: number, axis: AxisWeights): Float32Array {
  const { data, width, channels } = image;
  const colour = channels >= 3;
  const rows = new Float32Array(box.height * size * 3);
  for (let y = 0; y < box.height; y++) {
    const rowBase = (box.top + y) * width;
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0;
      const firstX = axis.first[x];
      for (let k = 0; k < axis.taps; k++) {
        const w = axis.weights[x * axis.taps + k];
        if (w === 0) continue;
        const p = (rowBase + firstX + k) * channels;
        r += w * data[p];
        g += w * data[colour ? p + 1 : p];
        b += w * data[colour ? p + 2 : p];
      }
      const o = (y * size + x) * 3;
      rows[o] = r; rows[o + 1] = g; rows[o + 2] = b;
    }
  }
  return rows;
}

/**
 * Crop `box`, resize it to [size, size] with the spec's kernel, mirror when
 * `flip`, normalise with mean/std: -> float32 [3, size, size] written at
 * `offset` of `out`. The whole evaluation preprocessing after decoding, so
 * Node and the browser compute the same numbers.
 */
export function cropResizeNormalize(
  image: RawImage, augmentation: Augmentation, spec: PreprocessSpec,
  out: Float32Array = new Float32Array(3 * spec.size * spec.size), offset = 0,
): Float32Array {
  const { width, height, channels, data } = image;
  const { box, flip } = augmentation;
  if (data.length < width * height * channels) {
    throw new Error(`pixel buffer holds ${data.length} bytes, expected ${width}x${height}x${channels}`);
  }
  if (box.left < 0 || box.top < 0 || box.width < 1 || box.height < 1 || box.left + box.width > width || box.top + box.height > height) {
    throw new Error(`crop box ${JSON.stringify(box)} is outside the ${width}x${height} image`);
  }
  const { size } = spec;
  const kernel = KERNELS[spec.kernel];
  const rows = resampleRows(image, box, size, axisWeights(box.left, box.width, size, kernel)); // [box.height, size, 3]
  const vertical = axisWeights(0, box.height, size, kernel);
  const plane = size * size;
  const rowLength = size * 3;
  const scale = spec.std.map((s) => 1 / (255 * s));
  const shift = spec.mean.map((m, c) => m / spec.std[c]);
  const line = new Float32Array(rowLength); // one output row [size, 3]
  for (let y = 0; y < size; y++) {
    line.fill(0);
    for (let k = 0; k < vertical.taps; k++) {
      const w = vertical.weights[y * vertical.taps + k];
      if (w === 0) continue;
      const source = (vertical.first[y] + k) * rowLength;
      for (let i = 0; i < rowLength; i++) line[i] += w * rows[source + i];
    }
    for (let x = 0; x < size; x++) {
      const target = offset + y * size + (flip ? size - 1 - x : x);
      for (let c = 0; c < 3; c++) {
        const v = line[x * 3 + c];
        out[target + c * plane] = (v < 0 ? 0 : v > 255 ? 255 : v) * scale[c] - shift[c];
      }
    }
  }
  return out;
}
