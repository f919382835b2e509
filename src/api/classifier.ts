// The public classifier object, shared by the Node and browser entries: a
// generated ONNX classifier open in a runtime, with its class names, its
// file's bytes and classification of pixels. No Node imports; the Node
// subclass adds image files, encoded buffers and saving.
import { chooseAugmentation, cropResizeNormalize, evalPreprocess, type PreprocessSpec, type RawImage } from '../data/preprocess.js';
import { classify, createClassifier, type Classifier, type LabelScore } from '../deploy/runtime/classifier.js';
import type { ClassifierMetadata } from '../deploy/metadata.js';
import type { OpenRunner } from '../deploy/runtime/session.js';

export type { LabelScore, RawImage, ClassifierMetadata };

export interface ClassifyOptions {
  /** Labels per image, most probable first (default 5, at most the number of classes). */
  topK?: number;
  /** Images per runtime call (default 32). */
  batchSize?: number;
}

export interface TensorOptions extends ClassifyOptions {
  /** The pixels are already normalised with the classifier's mean and std (default: RGB in [0, 1]). */
  normalized?: boolean;
}

export class ImageClassifier {
  /** The preprocessing of evaluation, at this classifier's input size and normalisation. */
  readonly preprocess: PreprocessSpec;

  /** Use loadClassifier or generate; this wraps an open runtime session. */
  constructor(readonly bytes: Uint8Array, protected readonly session: Classifier) {
    const [h, w] = session.metadata.inputSize;
    if (h !== w) throw new Error(`the classifier's input size ${h}x${w} is not square; hyperclip classifiers take square images`);
    this.preprocess = evalPreprocess(h, { mean: session.metadata.mean, std: session.metadata.std });
  }

  /** Opens classifier bytes in a runtime, as this class (ImageClassifier, or the Node or browser one). */
  static async open<T extends ImageClassifier>(this: new (bytes: Uint8Array, session: Classifier) => T, bytes: Uint8Array, open: OpenRunner): Promise<T> {
    return new this(bytes, await createClassifier(bytes, open));
  }

  get classNames(): string[] {
    return this.session.metadata.classNames;
  }

  /** Class names, input size, normalisation, output kind, source model and card, as the file records them. */
  get metadata(): ClassifierMetadata {
    return this.session.metadata;
  }

  /** The side of the square RGB input, in pixels. */
  get inputSize(): number {
    return this.session.metadata.inputSize[0];
  }

  /**
   * Raw tensors: float32 NCHW [N, 3, S, S] at the input size, RGB in [0, 1]
   * (or normalised, with `normalized: true`) -> per image, the top labels.
   */
  async classifyTensor(pixels: Float32Array, options: TensorOptions = {}): Promise<LabelScore[][]> {
    const predictions = await classify(this.session, pixels, { topk: options.topK, normalized: options.normalized, batchSize: options.batchSize });
    return predictions.map((p) => p.topk);
  }

  /** Decoded pixels (interleaved [H, W, C], C = 1..4, e.g. a canvas's ImageData with channels 4) -> the top labels. */
  async classifyPixels(image: RawImage, options: ClassifyOptions = {}): Promise<LabelScore[]> {
    const [labels] = await this.classifyTensor(this.toInput(image), { ...options, normalized: true });
    return labels!;
  }

  /** The normalised [3, S, S] input for decoded pixels: center crop, resize, normalise, exactly as in evaluation. */
  toInput(image: RawImage, out?: Float32Array, offset = 0): Float32Array {
    return cropResizeNormalize(image, chooseAugmentation(this.preprocess, image.width, image.height, 0), this.preprocess, out, offset);
  }

  /** Frees the runtime session. */
  async release(): Promise<void> {
    await this.session.runner.release();
  }
}
