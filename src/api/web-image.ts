// Images in the browser -> decoded pixels for the classifier: files and
// blobs through the browser's decoder (createImageBitmap, a canvas), canvas
// ImageData as it is. The classifier then applies the evaluation
// preprocessing, the same code `hyperclip classify` runs after sharp decodes.
import type { RawImage } from '../data/preprocess.js';

/** A picked, dropped or fetched image file (any format the browser decodes) -> RGBA pixels. */
export async function decodeImageBlob(blob: Blob, name = 'the image'): Promise<RawImage> {
  let bitmap: ImageBitmap;
  try {
    // Upright like sharp's rotate(); colours converted to sRGB like its toColourspace('srgb').
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'default' });
  } catch {
    throw new Error(`${name} could not be read as an image: this browser cannot decode it (try a JPEG or PNG).`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (context === null) throw new Error('this browser gave no 2D canvas to read pixels from');
    context.drawImage(bitmap, 0, 0);
    return fromImageData(context.getImageData(0, 0, bitmap.width, bitmap.height));
  } finally {
    bitmap.close();
  }
}

/** A canvas's ImageData (RGBA [H, W, 4]) as the classifier's pixels, without copying. */
export const fromImageData = (image: ImageData): RawImage =>
  ({ data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height, channels: 4 });
