// The deployed classifier, independent of which ONNX runtime runs it: read
// the metadata, normalise pixels, run in batches, turn scores into top-k
// labels with probabilities.
import { parseClassifierMetadata, type ClassifierMetadata } from '../metadata.js';
import { readOnnxInfo } from '../onnx/read.js';
import type { InferenceRunner, OpenRunner } from './session.js';

export interface Classifier {
  readonly metadata: ClassifierMetadata;
  readonly runner: InferenceRunner;
  readonly inputName: string;
  readonly outputName: string;
}

export interface LabelScore {
  label: string;
  index: number;
  probability: number;
}

export interface Prediction {
  topk: LabelScore[];
}

export interface ClassifyOptions {
  /** How many labels per image (default 5, at most the number of classes). */
  topk?: number;
  /** Pixels are already normalised with the metadata's mean and std (default: they are RGB in [0, 1]). */
  normalized?: boolean;
  /** Images per runtime call (default 64). */
  batchSize?: number;
}

export async function createClassifier(model: Uint8Array, open: OpenRunner): Promise<Classifier> {
  const info = readOnnxInfo(model);
  const metadata = parseClassifierMetadata(info.metadata);
  if (info.inputs.length !== 1) throw new Error(`a classifier takes one image input, this model takes ${info.inputs.length}`);
  const runner = await open(model);
  return { metadata, runner, inputName: info.inputs[0]!.name, outputName: info.outputs[0]!.name };
}

/** Classifies a batch of RGB images laid out NCHW at the classifier's input size. */
export async function classify(classifier: Classifier, images: Float32Array, options: ClassifyOptions = {}): Promise<Prediction[]> {
  const { classNames, inputSize: [h, w] } = classifier.metadata;
  const perImage = 3 * h * w;
  if (images.length === 0 || images.length % perImage !== 0) {
    throw new Error(`classify: got ${images.length} values, not a whole number of 3x${h}x${w} images (NCHW float32)`);
  }
  const k = Math.min(options.topk ?? 5, classNames.length);
  if (!Number.isInteger(k) || k < 1) throw new Error(`classify: topk must be a positive integer, got ${options.topk}`);
  const batchSize = options.batchSize ?? 64;
  const predictions: Prediction[] = [];
  for (let start = 0; start < images.length; start += batchSize * perImage) {
    const chunk = images.subarray(start, Math.min(images.length, start + batchSize * perImage));
    const scores = await runChunk(classifier, options.normalized ? chunk : normalize(chunk, classifier.metadata));
    for (const row of scores) predictions.push({ topk: topLabels(row, k, classNames) });
  }
  return predictions;
}

/** Per-image class probabilities for one runtime call. */
async function runChunk(classifier: Classifier, pixels: Float32Array): Promise<Float32Array[]> {
  const [h, w] = classifier.metadata.inputSize;
  const n = pixels.length / (3 * h * w);
  const result = await classifier.runner.run({ [classifier.inputName]: { data: pixels, dims: [n, 3, h, w] } });
  const out = result[classifier.outputName]!;
  const classes = classifier.metadata.classNames.length;
  if (out.dims.length !== 2 || out.dims[0] !== n || out.dims[1] !== classes) {
    throw new Error(`classifier output has shape [${out.dims}], expected [${n}, ${classes}]: the file's metadata does not match its graph`);
  }
  const data = out.data as Float32Array;
  const rows = Array.from({ length: n }, (_, i) => data.slice(i * classes, (i + 1) * classes));
  return classifier.metadata.output === 'logits' ? rows.map(softmax) : rows;
}

function normalize(pixels: Float32Array, m: ClassifierMetadata): Float32Array {
  const plane = m.inputSize[0] * m.inputSize[1];
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = Math.floor(i / plane) % 3;
    out[i] = (pixels[i]! - m.mean[c]!) / m.std[c]!;
  }
  return out;
}

function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = logits.map((v) => Math.exp(v - max));
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}

function topLabels(probabilities: Float32Array, k: number, classNames: string[]): LabelScore[] {
  const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return order.slice(0, k).map((index) => ({ label: classNames[index]!, index, probability: probabilities[index]! }));
}
