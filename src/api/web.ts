// The browser API (hyperclip/web): a model folder fetched over HTTP,
// generation in the page, and the same classifier object as on Node. The
// page passes its onnxruntime-web module in, so this imports no runtime
// package and no Node module.
import { CLIP_MEAN, CLIP_STD } from '../data/preprocess.js';
import { BpeTokenizer } from '../data/tokenizer/bpe-tokenizer.js';
import type { TokenizerFile } from '../data/tokenizer/tokenizer-format.js';
import type { ClassifierMetadata, ClassifierOutput } from '../deploy/metadata.js';
import { MODEL_FILES } from '../models/folder-layout.js';
import { readOnnxInfo } from '../deploy/onnx/read.js';
import { generateOnRuntime } from '../deploy/runtime/generate.js';
import { runnerFactory, type OrtLike } from '../deploy/runtime/ort-adapter.js';
import { classifierBytes } from '../deploy/runtime/web.js';
import type { OpenRunner } from '../deploy/runtime/session.js';
import { checkTemplates } from '../eval/prompt-lists.js';
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

/** What a generator traced for one template without recording it was made with. */
const DEFAULT_TEMPLATES = ['a photo of a {}.'];

const HOW_TO_SERVE = 'start the page with `hyperclip serve --model DIR`, or name a folder URL that holds ' +
  `${MODEL_FILES.generator}, ${MODEL_FILES.encoder}, ${MODEL_FILES.tokenizer} and ${MODEL_FILES.config}`;

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

interface ConfigFile {
  config?: { name?: string };
  extra?: { preprocess?: { mean?: [number, number, number]; std?: [number, number, number] } };
}

export class WebModel {
  private constructor(
    readonly url: string, readonly name: string, readonly generator: Uint8Array, readonly encoder: Uint8Array,
    readonly tokenizer: BpeTokenizer, readonly templates: string[], readonly mean: [number, number, number],
    readonly std: [number, number, number], readonly imageSize: number, readonly card: string, private readonly open: OpenRunner,
  ) {}

  /** Fetches a model folder (its ONNX files, tokenizer, config and card) and checks that the pieces fit together. */
  static async load(url: string, runtime: WebRuntime): Promise<WebModel> {
    const base = url.endsWith('/') ? url : `${url}/`;
    // Fetched together, but a failure is reported in this order: which 404 arrives first is a race.
    const settled = await Promise.allSettled([
      fetchFile(base, MODEL_FILES.generator, false), fetchFile(base, MODEL_FILES.encoder, false),
      fetchFile(base, MODEL_FILES.tokenizer, false), fetchFile(base, MODEL_FILES.config, false),
      fetchFile(base, MODEL_FILES.card, true),
    ]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [generatorFile, encoderFile, tokenizerFile, configFile, cardFile] = settled.map((r) => (r as PromiseFulfilledResult<Response | null>).value);
    const config = await jsonOf<ConfigFile>(configFile!, MODEL_FILES.config);
    const generator = await bytesOf(generatorFile!);
    const encoder = await bytesOf(encoderFile!);
    const tokenizer = new BpeTokenizer(await jsonOf<TokenizerFile>(tokenizerFile!, MODEL_FILES.tokenizer), MODEL_FILES.tokenizer);
    const templates = generatorTemplates(generator);
    const imageSize = checkFit(generator, encoder, tokenizer, templates);
    return new WebModel(base, config.config?.name ?? 'unnamed model', generator, encoder, tokenizer, templates,
      config.extra?.preprocess?.mean ?? CLIP_MEAN, config.extra?.preprocess?.std ?? CLIP_STD, imageSize,
      cardFile === null ? '' : await cardFile!.text(), webRunner(runtime));
  }

  /** Class names in, an open classifier out. */
  async generate(classNames: string[], options: { output?: ClassifierOutput } = {}): Promise<WebClassifier> {
    const { bytes } = await this.generateFile(classNames, options);
    return WebClassifier.open(bytes, this.open);
  }

  /** Class names in, the classifier's .onnx bytes out (what `hyperclip classify` reads), without opening it. */
  async generateFile(classNames: string[], options: { output?: ClassifierOutput } = {}): Promise<WebGeneratedFile> {
    return generateOnRuntime(this.generator, this.encoder, this.tokenizer, {
      classNames, templates: this.templates, output: options.output ?? 'softmax', mean: this.mean, std: this.std,
      sourceModel: `${this.name} (${this.url})`, modelCard: this.card,
    }, this.open);
  }
}

/** Fetches and checks a model folder served over HTTP (a URL ending in /). */
export const loadModel = (url: string, runtime: WebRuntime): Promise<WebModel> => WebModel.load(url, runtime);

/** Opens a classifier .onnx file from a URL or its bytes. */
export async function loadClassifier(urlOrBytes: string | Uint8Array, runtime: WebRuntime): Promise<WebClassifier> {
  return WebClassifier.open(await classifierBytes(urlOrBytes), webRunner(runtime));
}

async function fetchFile(base: string, name: string, optional: boolean): Promise<Response | null> {
  let response: Response;
  try {
    response = await fetch(new URL(name, base));
  } catch (err) {
    throw new Error(`model file ${name} could not be fetched from ${base} (${(err as Error).message}): ${HOW_TO_SERVE}`);
  }
  if (response.ok) return response;
  if (optional && response.status === 404) return null;
  throw new Error(`model file ${name} is missing at ${base} (HTTP ${response.status}): ${HOW_TO_SERVE}`);
}

const bytesOf = async (r: Response): Promise<Uint8Array> => new Uint8Array(await r.arrayBuffer());

async function jsonOf<T>(r: Response, name: string): Promise<T> {
  try {
    return (await r.json()) as T;
  } catch {
    throw new Error(`model file ${name} is not valid JSON`);
  }
}

/** The templates the generator was traced for, as it records them. */
function generatorTemplates(generator: Uint8Array): string[] {
  const info = readOnnxInfo(generator);
  const recorded = info.metadata['hyperclip.templates'];
  if (recorded !== undefined) return checkTemplates(JSON.parse(recorded), `${MODEL_FILES.generator} metadata`);
  const count = info.inputs.find((v) => v.name === 'ids')?.dims[1];
  if (count === 1) return DEFAULT_TEMPLATES;
  throw new Error(`${MODEL_FILES.generator} does not record its ${count} prompt templates: re-export it with \`hyperclip export-onnx\``);
}

/** The generator's prompt shape must match the tokenizer and the templates; returns the encoder's image size. */
function checkFit(generator: Uint8Array, encoder: Uint8Array, tokenizer: BpeTokenizer, templates: string[]): number {
  const ids = readOnnxInfo(generator).inputs.find((v) => v.name === 'ids');
  if (ids === undefined || ids.dims.length !== 3) throw new Error(`${MODEL_FILES.generator} has no ids input [classes, templates, tokens]: re-export it`);
  const [, count, tokens] = ids.dims;
  if (count !== templates.length) {
    throw new Error(`${MODEL_FILES.generator} averages over ${count} prompt templates but records ${templates.length}: re-export it with \`hyperclip export-onnx\``);
  }
  if (tokens !== tokenizer.contextLength) {
    throw new Error(`${MODEL_FILES.generator} reads ${tokens} tokens per prompt but ${MODEL_FILES.tokenizer} makes ${tokenizer.contextLength}`);
  }
  const size = Number(readOnnxInfo(encoder).metadata['hyperclip.image_size']);
  if (!Number.isInteger(size) || size < 1) throw new Error(`${MODEL_FILES.encoder} has no hyperclip.image_size metadata: it is not a hyperclip encoder export`);
  return size;
}
