// Common image corruptions in the style of CIFAR-10-C (Hendrycks & Dietterich
// 2019), computed on the fly from clean images: four kinds of noise, two
// blurs, contrast, brightness, JPEG and pixelation, each at severities 1..5
// (0 is the clean image). Every random choice comes from the seed, so the
// same image, corruption, severity and seed always give the same pixels.
// The parameters are ours, chosen for 32-px CIFAR images at native resolution.
import sharp from 'sharp';
import type { RawImage } from '../../data/preprocess.js';
import { createRng, type Rng } from '../../data/random.js';

/** An RGB image as floats in [0, 1], interleaved [H, W, 3]. */
interface FloatImage { data: Float32Array; width: number; height: number }

type PixelCorruption = (image: FloatImage, level: number, rng: Rng) => FloatImage;

interface CorruptionSpec {
  /** One parameter per severity 1..5. */
  levels: readonly number[];
  apply: PixelCorruption | 'jpeg';
}

const CORRUPTIONS = {
  'gaussian-noise': { levels: [0.04, 0.06, 0.08, 0.1, 0.13], apply: gaussianNoise }, // noise sigma
  'shot-noise': { levels: [500, 250, 100, 60, 35], apply: shotNoise }, // photons at full scale
  'impulse-noise': { levels: [0.01, 0.02, 0.04, 0.06, 0.09], apply: impulseNoise }, // fraction of salt-and-pepper values
  'defocus-blur': { levels: [0.75, 1, 1.25, 1.6, 2], apply: defocusBlur }, // disk radius, pixels
  'motion-blur': { levels: [2, 3, 4, 5.5, 7], apply: motionBlur }, // streak length, pixels
  contrast: { levels: [0.75, 0.5, 0.4, 0.3, 0.15], apply: contrast }, // remaining contrast
  brightness: { levels: [0.1, 0.2, 0.3, 0.4, 0.5], apply: brightness }, // added HSV value
  jpeg: { levels: [80, 65, 58, 50, 40], apply: 'jpeg' }, // JPEG quality
  pixelate: { levels: [0.95, 0.9, 0.85, 0.75, 0.65], apply: pixelate }, // kept resolution
} satisfies Record<string, CorruptionSpec>;

export type CorruptionName = keyof typeof CORRUPTIONS;
export const CORRUPTION_NAMES = Object.keys(CORRUPTIONS) as CorruptionName[];
export const MAX_SEVERITY = 5;

/** 'all' or a comma-separated list -> corruption names; an unknown name is one message listing the valid ones. */
export function parseCorruptions(list: string): CorruptionName[] {
  if (list.trim() === 'all') return [...CORRUPTION_NAMES];
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`no corruption named: give all or a comma-separated list of ${CORRUPTION_NAMES.join(', ')}`);
  for (const name of names) {
    if (!(name in CORRUPTIONS)) throw new Error(`unknown corruption "${name}": expected all or a comma-separated list of ${CORRUPTION_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as CorruptionName[];
}

/** A comma-separated list of severities 1..5 (0, the clean image, is always reported). */
export function parseSeverities(list: string): number[] {
  const values = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const severities = values.map(Number);
  if (values.length === 0 || severities.some((s) => !Number.isInteger(s) || s < 1 || s > MAX_SEVERITY)) {
    throw new Error(`expected severities as a comma-separated list of integers 1..${MAX_SEVERITY} (e.g. 1,3,5) but received "${list}"`);
  }
  return [...new Set(severities)].sort((a, b) => a - b);
}

/** The corrupted copy of an image (3 channels out); severity 0 returns a copy of the clean pixels. */
export async function corrupt(image: RawImage, name: CorruptionName, severity: number, seed: number): Promise<RawImage> {
  const spec: CorruptionSpec | undefined = CORRUPTIONS[name];
  if (spec === undefined) throw new Error(`unknown corruption "${name}": expected one of ${CORRUPTION_NAMES.join(', ')}`);
  if (!Number.isInteger(severity) || severity < 0 || severity > MAX_SEVERITY) {
    throw new Error(`expected a severity between 0 and ${MAX_SEVERITY} but received ${severity}`);
  }
  const rgb = toRgb(image);
  if (severity === 0) return rgb;
  const level = spec.levels[severity - 1]!;
  if (spec.apply === 'jpeg') return jpegRoundTrip(rgb, level);
  return fromFloat(spec.apply(toFloat(rgb), level, createRng(seed)));
}

function toRgb(image: RawImage): RawImage {
  const { width, height, channels, data } = image;
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * channels + (channels >= 3 ? c : 0)]!;
  }
  return { data: out, width, height, channels: 3 };
}

function toFloat(image: RawImage): FloatImage {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i]! / 255;
  return { data, width: image.width, height: image.height };
}

function fromFloat(image: FloatImage): RawImage {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(255 * Math.min(1, Math.max(0, image.data[i]!)));
  return { data, width: image.width, height: image.height, channels: 3 };
}

function mapPixels(image: FloatImage, f: (v: number, i: number) => number): FloatImage {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = f(image.data[i]!, i);
  return { ...image, data };
}

/** A standard normal draw (Box-Muller). */
function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** A Poisson draw: Knuth's product method for small means, the rounded normal approximation above 30. */
function poisson(mean: number, rng: Rng): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rng)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rng(); p > limit; p *= rng()) k++;
  return k;
}

function gaussianNoise(image: FloatImage, sigma: number, rng: Rng): FloatImage {
  return mapPixels(image, (v) => v + sigma * normal(rng));
}

function shotNoise(image: FloatImage, photons: number, rng: Rng): FloatImage {
  return mapPixels(image, (v) => poisson(v * photons, rng) / photons);
}

function impulseNoise(image: FloatImage, amount: number, rng: Rng): FloatImage {
  return mapPixels(image, (v) => {
    const u = rng();
    return u < amount / 2 ? 0 : u < amount ? 1 : v;
  });
}

function contrast(image: FloatImage, kept: number): FloatImage {
  const { data } = image;
  const mean = [0, 0, 0];
  for (let i = 0; i < data.length; i++) mean[i % 3]! += data[i]!;
  const pixels = data.length / 3;
  const grey = (mean[0]! + mean[1]! + mean[2]!) / (3 * pixels);
  return mapPixels(image, (v) => (v - grey) * kept + grey);
}

/** Adds to the HSV value, keeping hue and saturation: every channel scales by the same factor. */
function brightness(image: FloatImage, added: number): FloatImage {
  const out = new Float32Array(image.data.length);
  for (let p = 0; p < out.length; p += 3) {
    const r = image.data[p]!, g = image.data[p + 1]!, b = image.data[p + 2]!;
    const value = Math.max(r, g, b);
    const target = Math.min(1, value + added);
    if (value === 0) {
      out[p] = out[p + 1] = out[p + 2] = target; // black has no hue: it becomes grey
      continue;
    }
    const factor = target / value;
    out[p] = r * factor; out[p + 1] = g * factor; out[p + 2] = b * factor;
  }
  return { ...image, data: out };
}

/** Convolution with a kernel given as (dx, dy, weight) taps; edges clamp. */
function convolve(image: FloatImage, taps: [number, number, number][]): FloatImage {
  const { width, height, data } = image;
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy, w] of taps) {
        const sx = Math.min(width - 1, Math.max(0, x + dx));
        const sy = Math.min(height - 1, Math.max(0, y + dy));
        const s = (sy * width + sx) * 3;
        r += w * data[s]!; g += w * data[s + 1]!; b += w * data[s + 2]!;
      }
      const o = (y * width + x) * 3;
      out[o] = r; out[o + 1] = g; out[o + 2] = b;
    }
  }
  return { ...image, data: out };
}

function normalizeTaps(taps: [number, number, number][]): [number, number, number][] {
  const total = taps.reduce((s, [, , w]) => s + w, 0);
  return taps.map(([dx, dy, w]) => [dx, dy, w / total]);
}

/** A disk of the given radius, its edge pixels weighted by the fraction of them inside (4x4 supersampling). */
function defocusBlur(image: FloatImage, radius: number): FloatImage {
  const reach = Math.ceil(radius);
  const taps: [number, number, number][] = [];
  for (let dy = -reach; dy <= reach; dy++) {
    for (let dx = -reach; dx <= reach; dx++) {
      let inside = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const px = dx - 0.5 + (sx + 0.5) / 4, py = dy - 0.5 + (sy + 0.5) / 4;
          if (px * px + py * py <= radius * radius) inside++;
        }
      }
      if (inside > 0) taps.push([dx, dy, inside / 16]);
    }
  }
  return convolve(image, normalizeTaps(taps));
}

/** A straight streak of the given length at a random angle, as a moving camera leaves. */
function motionBlur(image: FloatImage, length: number, rng: Rng): FloatImage {
  const angle = Math.PI * rng();
  const steps = Math.max(2, Math.ceil(length * 2));
  const weights = new Map<string, [number, number, number]>();
  for (let i = 0; i <= steps; i++) {
    const t = (i / steps - 0.5) * length;
    const dx = Math.round(t * Math.cos(angle)), dy = Math.round(t * Math.sin(angle));
    const key = `${dx},${dy}`;
    const tap = weights.get(key) ?? [dx, dy, 0];
    tap[2] += 1;
    weights.set(key, tap);
  }
  return convolve(image, normalizeTaps([...weights.values()]));
}

/** Area-average down to the kept fraction of the resolution, then nearest-neighbour back up. */
function pixelate(image: FloatImage, kept: number): FloatImage {
  const { width, height, data } = image;
  const smallW = Math.max(1, Math.round(width * kept)), smallH = Math.max(1, Math.round(height * kept));
  const small = new Float32Array(smallW * smallH * 3);
  const counts = new Float32Array(smallW * smallH);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = Math.floor((y * smallH) / height) * smallW + Math.floor((x * smallW) / width);
      counts[cell]! += 1;
      for (let c = 0; c < 3; c++) small[cell * 3 + c]! += data[(y * width + x) * 3 + c]!;
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = Math.floor((y * smallH) / height) * smallW + Math.floor((x * smallW) / width);
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = small[cell * 3 + c]! / counts[cell]!;
    }
  }
  return { ...image, data: out };
}

async function jpegRoundTrip(image: RawImage, quality: number): Promise<RawImage> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  const encoded = await sharp(image.data, { raw }).jpeg({ quality }).toBuffer();
  const { data, info } = await sharp(encoded).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
}
