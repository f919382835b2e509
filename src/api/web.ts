// The browser API (hyperclip/web): a model folder fetched over HTTP,
// generation in the page, and the same classifier object as on Node. The
// page passes its onnxruntime-web module in, so this imports no runtime
// package and no Node module.
import type { BpeTokenizer } from '../data/tokenizer/bpe-tokenizer.js';
import { loadModelFolder, requiredFileList, type LoadedModelFolder } from '../deploy/folder-loader.js';
import { fetchFolderReader } from '../deploy/folder-read-fetch.js';
import type { ClassifierMetadata, ClassifierOutput } from '../deploy/metadata.js';
import { templatesFor } from '../deploy/model-folder.js';
import { generateOnRuntime } from '../deploy/runtime/generate.js';
import { runnerFactory, type OrtLike } from '../deploy/runtime/ort-adapter.js';
import { classifierBytes } from '../deploy/runtime/web.js';
import type { OpenRunner } from '../deploy/runtime/session.js';
import type { CheckedClassNames } from '../eval/prompt-lists.js';
import { ImageClassifier, type ClassifyOptions, type LabelScore, type RawImage } from './classifier.js';
import { decodeImageBlob, fromImageData } from './web-image.js';

/** An image file or blob, a canvas's ImageData, or decoded pixels. */
export type WebImageInput = Blob | ImageData | RawImage;

/** The classifier in the browser: image files, blobs and canvas pixels in, top labels out. */
export class WebClassifier extends ImageClassifier {
  /** One image -> its top labels; a list of images -> one list of top labels per image. */
  classify(image: WebImageInput, options?: ClassifyOptions): Promise<LabelScore[]>;
  classify(images: readonly WebImageInput[], options?: ClassifyOptions): Promise<LabelScore[][]>;
  async classify(input: WebImageInput | readonly WebImageInput[], options: ClassifyOptions = {}): Promise<LabelScore[] | LabelScore[][]> {
    const images = isImageList(input) ? input : [input];
    if (images.length === 0) return [];
    const perImage = 3 * this.inputSize * this.inputSize;
    const pixels = new Float32Array(images.length * perImage);
    for (const [i, image] of images.entries()) this.toInput(await decodeWebImage(image), pixels, i * perImage);
    const labels = await this.classifyTensor(pixels, { ...options, normalized: true });
    return isImageList(input) ? labels : labels[0]!;
  }
}

const isImageList = (input: WebImageInput | readonly WebImageInput[]): input is readonly WebImageInput[] => Array.isArray(input);

/** Decoded pixels of any browser image input. */
export async function decodeWebImage(image: WebImageInput): Promise<RawImage> {
  if (typeof Blob !== 'undefined' && image instanceof Blob) return decodeImageBlob(image, typeof File !== 'undefined' && image instanceof File ? image.name : undefined);
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) return fromImageData(image);
  return image as RawImage;
}

export interface WebRuntime {
  /** The onnxruntime-web module: `import * as ort from 'onnxruntime-web'`. */
  ort: object;
  /** onnxruntime session options (default: the wasm execution provider, all graph optimisations). */
  sessionOptions?: Record<string, unknown>;
}

const HOW_TO_SERVE = `start the page with \`hyperclip serve --model DIR\`, or name a folder URL that holds ${requiredFileList()}`;

/** An OpenRunner on the page's onnxruntime-web module. */
export function webRunner(runtime: WebRuntime): OpenRunner {
  return runnerFactory(runtime.ort as OrtLike, runtime.sessionOptions ?? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

/** A generated classifier file before it is opened, with timings in seconds. */
export interface WebGeneratedFile {
  bytes: Uint8Array;
  metadata: ClassifierMetadata;
  timings: { generate: number; build: number };
}

export class WebModel {
  readonly name: string;
  readonly generator: Uint8Array;
  readonly encoder: Uint8Array;
  readonly tokenizer: BpeTokenizer;
  readonly templates: string[];
  readonly mean: [number, number, number];
  readonly std: [number, number, number];
  readonly imageSize: number;
  readonly card: string;
  /** What its classifiers record as their source: "NAME (URL)". */
  readonly sourceModel: string;

  private constructor(readonly url: string, folder: LoadedModelFolder, private readonly open: OpenRunner) {
    this.name = folder.name;
    this.generator = folder.generator;
    this.encoder = folder.encoder;
    this.tokenizer = folder.tokenizer;
    // The page passes no templates of its own: the generator's must exist.
    this.templates = templatesFor(folder);
    this.mean = folder.preprocess.mean;
    this.std = folder.preprocess.std;
    this.imageSize = folder.imageSize;
    this.card = folder.card;
    this.sourceModel = folder.sourceModel;
  }

  /** Fetches a model folder (its ONNX files, tokenizer, config and card) and checks that the pieces fit together. */
  static async load(url: string, runtime: WebRuntime): Promise<WebModel> {
    const reader = fetchFolderReader(url, { hint: HOW_TO_SERVE });
    return new WebModel(reader.where, await loadModelFolder(reader), webRunner(runtime));
  }

  /** Class names in, an open classifier out. */
  async generate(classNames: readonly string[] | CheckedClassNames, options: { output?: ClassifierOutput } = {}): Promise<WebClassifier> {
    const { bytes } = await this.generateFile(classNames, options);
    return WebClassifier.open(bytes, this.open);
  }

  /** Class names in, the classifier's .onnx bytes out (what `hyperclip classify` reads), without opening it. */
  async generateFile(classNames: readonly string[] | CheckedClassNames, options: { output?: ClassifierOutput } = {}): Promise<WebGeneratedFile> {
    return generateOnRuntime(this.generator, this.encoder, this.tokenizer, {
      classNames, templates: this.templates, output: options.output ?? 'softmax', mean: this.mean, std: this.std,
      sourceModel: this.sourceModel, modelCard: this.card,
    }, this.open);
  }
}

/** Fetches and checks a model folder served over HTTP (a URL ending in /). */
export const loadModel = (url: string, runtime: WebRuntime): Promise<WebModel> => WebModel.load(url, runtime);

/** Opens a classifier .onnx file from a URL or its bytes. */
export async function loadClassifier(urlOrBytes: string | Uint8Array, runtime: WebRuntime): Promise<WebClassifier> {
  return WebClassifier.open(await classifierBytes(urlOrBytes), webRunner(runtime));
}
