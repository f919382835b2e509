// The classifier on Node: images from files, encoded buffers (any format
// sharp reads) or decoded pixels, and saving the .onnx file.
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../data/images.js';
import { writeFileAtomic } from '../engine/atomic-write.js';
import { openRunner, readClassifierFile } from '../deploy/runtime/node.js';
import { ImageClassifier, type ClassifyOptions, type LabelScore, type RawImage } from './classifier.js';

/** An image file's path, its encoded bytes (JPEG, PNG, WebP, ...), or decoded pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export class NodeClassifier extends ImageClassifier {
  /** One image -> its top labels; a list of images -> one list of top labels per image. */
  classify(image: ImageInput, options?: ClassifyOptions): Promise<LabelScore[]>;
  classify(images: readonly ImageInput[], options?: ClassifyOptions): Promise<LabelScore[][]>;
  async classify(input: ImageInput | readonly ImageInput[], options: ClassifyOptions = {}): Promise<LabelScore[] | LabelScore[][]> {
    const images = isImageList(input) ? input : [input];
    if (images.length === 0) return [];
    const perImage = 3 * this.inputSize * this.inputSize;
    const pixels = new Float32Array(images.length * perImage);
    for (const [i, image] of images.entries()) await this.decode(image, pixels, i * perImage);
    const labels = await this.classifyTensor(pixels, { ...options, normalized: true });
    return isImageList(input) ? labels : labels[0]!;
  }

  /** Writes the classifier's .onnx file (atomically): `hyperclip classify` and loadClassifier read it. */
  async save(file: string): Promise<void> {
    writeFileAtomic(file, [this.bytes]);
  }

  /** An image's normalised [3, S, S] input (written into `out` at `offset` when given), as classify computes it. */
  async decode(image: ImageInput, out?: Float32Array, offset = 0): Promise<Float32Array> {
    if (typeof image !== 'string' && !(image instanceof Uint8Array)) return this.toInput(image, out, offset);
    let encoded: Uint8Array;
    if (typeof image === 'string') {
      try {
        encoded = await readFile(image);
      } catch (err) {
        throw new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? `no such image file: ${image}` : `cannot read ${image}: ${(err as Error).message}`);
      }
    } else {
      encoded = image;
    }
    try {
      return await decodeImage(encoded, this.preprocess, 0, out, offset);
    } catch (err) {
      const what = typeof image === 'string' ? image : `an image buffer of ${image.byteLength} bytes`;
      throw new Error(`${what} is not an image that sharp can read (${(err as Error).message})`);
    }
  }
}

const isImageList = (input: ImageInput | readonly ImageInput[]): input is readonly ImageInput[] => Array.isArray(input);

/** Opens a classifier .onnx file (a path or its bytes) on onnxruntime-node. */
export async function loadClassifier(source: string | Uint8Array): Promise<NodeClassifier> {
  const bytes = typeof source === 'string' ? await readClassifierFile(source) : source;
  return NodeClassifier.open(bytes, openRunner);
}
