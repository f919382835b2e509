// A picked, dropped or photographed file -> the classifier's input: the
// browser decodes (createImageBitmap, canvas), then the evaluation
// preprocessing of src/data/preprocess.ts crops, resizes and normalises,
// the same code `hyperclip classify` runs after sharp decodes.
import { chooseAugmentation, cropResizeNormalize, evalPreprocess, type RawImage } from '../../src/data/preprocess.js';
import type { ClassifierMetadata } from '../../src/deploy/metadata.js';

export async function decodeFile(file: Blob, name: string): Promise<RawImage> {
  let bitmap: ImageBitmap;
  try {
    // Upright like sharp's rotate(); colours converted to sRGB like its toColourspace('srgb').
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'default' });
  } catch {
    throw new Error(`${name} could not be read as an image: this browser cannot decode it (try a JPEG or PNG).`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (context === null) throw new Error('this browser gave no 2D canvas to read pixels from');
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height); // RGBA [H, W, 4]
    return { data: new Uint8Array(pixels.data.buffer), width: pixels.width, height: pixels.height, channels: 4 };
  } finally {
    bitmap.close();
  }
}

/** Normalised pixels [3, S, S] for the classifier, from its own metadata. */
export function toClassifierInput(image: RawImage, metadata: ClassifierMetadata): Float32Array {
  const spec = evalPreprocess(metadata.inputSize[0], { mean: metadata.mean, std: metadata.std });
  return cropResizeNormalize(image, chooseAugmentation(spec, image.width, image.height, 0), spec);
}
