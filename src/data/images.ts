// Decoding with sharp: any format sharp reads -> crop -> resize -> normalised
// float32 [3, size, size]. The geometry and pixel math live in preprocess.ts.
import sharp, { type Sharp } from 'sharp';
import { chooseAugmentation, hwcToNormalizedChw, type PreprocessSpec } from './preprocess.js';

// Decoded tiles are not reused, so libvips' operation cache only costs memory.
sharp.cache(false);

/** Upright width and height, taking the EXIF orientation into account. */
async function uprightSize(image: Sharp): Promise<{ width: number; height: number }> {
  const meta = await image.metadata();
  if (!meta.width || !meta.height) throw new Error('image has no dimensions');
  const swapped = (meta.orientation ?? 1) >= 5;
  return swapped ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/**
 * Decodes one encoded image and writes its [3, size, size] tensor into `out`
 * at `offset` (a new array when omitted). Throws on corrupt input; the
 * caller counts and skips.
 */
export async function decodeImage(
  encoded: Uint8Array, spec: PreprocessSpec, seed: number,
  out?: Float32Array, offset = 0,
): Promise<Float32Array> {
  const source = sharp(encoded, { failOn: 'error' }).rotate();
  const { width, height } = await uprightSize(source);
  const { box, flip } = chooseAugmentation(spec, width, height, seed);
  const { data, info } = await source
    .extract(box)
    .resize(spec.size, spec.size, { fit: 'fill', kernel: spec.kernel })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const target = out ?? new Float32Array(3 * spec.size * spec.size);
  return hwcToNormalizedChw(data, info.width, info.height, info.channels, spec.mean, spec.std, flip, target, offset);
}
