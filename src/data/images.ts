// Decoding with sharp: any format sharp reads -> upright 8-bit sRGB pixels ->
// normalised float32 [3, size, size] through the pure math of preprocess.ts.
import sharp from 'sharp';
import { chooseAugmentation, cropResizeNormalize, type PreprocessSpec, type RawImage } from './preprocess.js';

// Decoded tiles are not reused, so libvips' operation cache only costs memory.
sharp.cache(false);

/**
 * Decodes one encoded image (upright, sRGB, 8 bit) and writes its
 * [3, size, size] tensor into `out` at `offset` (a new array when omitted).
 * sharp only decodes; crop, resize, flip and normalisation are the pure code
 * of preprocess.ts, shared with the browser. Throws on corrupt input; the
 * caller counts and skips.
 */
export async function decodeImage(
  encoded: Uint8Array, spec: PreprocessSpec, seed: number,
  out?: Float32Array, offset = 0,
): Promise<Float32Array> {
  const { data, info } = await sharp(encoded, { failOn: 'error' })
    .rotate()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const image: RawImage = { data, width: info.width, height: info.height, channels: info.channels };
  const augmentation = chooseAugmentation(spec, image.width, image.height, seed);
  return cropResizeNormalize(image, augmentation, spec, out, offset);
}
