// Decoding with sharp: any format sharp reads -> upright 8-bit sRGB pixels ->
// normalised float32 [3, size, size] through the pure math of preprocess.ts.
import sharp, { type OutputInfo } from 'sharp';
import { chooseAugmentation, cropResizeNormalize, type PreprocessSpec, type RawImage } from './preprocess.js';

// Decoded tiles are not reused, so libvips' operation cache only costs memory.
sharp.cache(false);

// Training crops of large photos only need a fraction of their pixels: such
// files are shrunk while decoding (JPEG DCT scaling), down to a shorter side
// that still oversamples the smallest crop twice. Evaluation never shrinks,
// so it stays exactly the browser's computation.
const LARGE_FILE_BYTES = 32 * 1024;

function trainingShortSide(spec: PreprocessSpec): number {
  return Math.ceil((2 * spec.size) / Math.sqrt(spec.scale[0]));
}

/**
 * Images with more pixels than this are refused before decoding: a small file
 * can declare a huge image (a decompression bomb) and would take gigabytes.
 * 50 megapixels still admits 48 MP phone photos.
 */
export const MAX_INPUT_PIXELS = 50_000_000;

/** Said by decodeImage (also across worker threads, as text) when an image is over MAX_INPUT_PIXELS. */
export const PIXEL_LIMIT_MESSAGE = `over the pixel limit (${MAX_INPUT_PIXELS / 1e6} megapixels), refused as a possible decompression bomb`;

function decoder(encoded: Uint8Array, spec: PreprocessSpec, shrinkTo: number | null) {
  const image = sharp(encoded, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).rotate();
  if (shrinkTo) image.resize({ width: shrinkTo, height: shrinkTo, fit: 'outside', withoutEnlargement: true, kernel: 'linear' });
  return image.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
}

/**
 * Decodes one encoded image (upright, sRGB, 8 bit) and writes its
 * [3, size, size] tensor into `out` at `offset` (a new array when omitted).
 * sharp decodes; crop, resize, flip and normalisation are the pure code of
 * preprocess.ts, shared with the browser. Throws on corrupt input; the
 * caller counts and skips.
 */
export async function decodeImage(
  encoded: Uint8Array, spec: PreprocessSpec, seed: number,
  out?: Float32Array, offset = 0,
): Promise<Float32Array> {
  const shrink = spec.crop === 'random-resized' && encoded.length > LARGE_FILE_BYTES;
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await decoder(encoded, spec, shrink ? trainingShortSide(spec) : null);
  } catch (error) {
    throw /exceeds pixel limit/i.test((error as Error).message) ? new Error(PIXEL_LIMIT_MESSAGE) : error;
  }
  const { data, info } = decoded;
  const image: RawImage = { data, width: info.width, height: info.height, channels: info.channels };
  const augmentation = chooseAugmentation(spec, image.width, image.height, seed);
  return cropResizeNormalize(image, augmentation, spec, out, offset);
}

/**
 * Throws as decodeImage would on an image it cannot decode (corrupt,
 * truncated, over the pixel limit), without the preprocessing: a check for
 * images kept as encoded bytes (shot pools, shards being written).
 */
export async function checkImage(encoded: Uint8Array): Promise<void> {
  try {
    await sharp(encoded, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).rotate().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer();
  } catch (error) {
    throw /exceeds pixel limit/i.test((error as Error).message) ? new Error(PIXEL_LIMIT_MESSAGE) : error;
  }
}
