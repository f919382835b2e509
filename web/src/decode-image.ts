// A picked, dropped or photographed file -> decoded pixels: the browser
// decodes (createImageBitmap, canvas); the classifier's classifyPixels then
// applies the evaluation preprocessing, the same code `hyperclip classify`
// runs after sharp decodes.
import type { RawImage } from 'hyperclip/web';

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
