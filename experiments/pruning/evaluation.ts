// The pruning experiment's evaluation, made cheap enough for a grid of
// ~100 pruned models on one CPU thread: the evaluation images are decoded
// once and kept in memory, and each pruned model's image encoder runs on
// onnxruntime (onnx-embedder.ts); texts go through the engine. Samples,
// conditioning and scoring are `hyperclip eval --limit N`'s (src/eval): CIFAR
// test images from the seeded shuffle of one pass, CLIP templates; Flickr8k
// test: the first N captioned images, conditioned on the set of their first
// captions; top-1 and R@1 counted by src/eval/scoring.ts.
import type { Bundle } from '../../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource, type LoaderFiles } from '../../src/data/index.js';
import type { PreprocessSpec } from '../../src/data/preprocess.js';
import { rankByEmbeddings, scoreClassification } from '../../src/eval/classification.js';
import { galleryFeed, labelledFeed, readGallery, type Gallery, type GalleryBatch, type LabelledBatch } from '../../src/eval/feed.js';
import { disposeNormParams, galleryConditioning, scoreRetrieval } from '../../src/eval/retrieval.js';
import { encodeTexts } from '../../src/eval/text-features.js';
import { buildClassifier, disposeClassifier } from '../../src/eval/zeroshot.js';
import { onnxImageEmbedder } from './onnx-embedder.js';
import type { Scores } from './records.js';

export interface LabelledImages { name: string; pixels: Float32Array; labels: Int32Array; classnames: string[]; templates: string[]; size: number }
export interface CaptionedImages { gallery: Gallery; pixels: Float32Array; indices: number[]; size: number }
export interface EvalData { cifar10: LabelledImages; cifar100: LabelledImages; flickr8k: CaptionedImages; limit: number }

/** Images decoded per loader batch, and per onnxruntime call. */
const DECODE_BATCH = 250;
const RUN_BATCH = 100;

/** A labelled test set decoded once (the seeded sample `hyperclip eval --limit` reads), to score again and again. */
export async function decodeLabelled(name: string, source: LoaderFiles, caption: Extract<CaptionSource, { kind: 'label' }>, preprocess: PreprocessSpec, limit: number): Promise<LabelledImages> {
  const size = preprocess.size, per = 3 * size * size;
  const pixels = new Float32Array(limit * per), labels = new Int32Array(limit);
  let n = 0;
  for await (const batch of labelledFeed({ ...source, caption }, preprocess, { limit, batchSize: DECODE_BATCH })) {
    pixels.set(batch.pixels, n * per);
    labels.set(batch.labels, n);
    n += batch.labels.length;
  }
  return { name, pixels: pixels.subarray(0, n * per), labels: labels.subarray(0, n), classnames: caption.classnames, templates: caption.templates, size };
}

async function labelled(bundle: Bundle, name: 'cifar10' | 'cifar100', limit: number): Promise<LabelledImages> {
  const source = resolveDataset(name, 'test');
  return decodeLabelled(name, { shards: source.shards }, source.caption as Extract<CaptionSource, { kind: 'label' }>, bundle.preprocess, limit);
}

async function captioned(bundle: Bundle, limit: number): Promise<CaptionedImages> {
  const source = resolveDataset('flickr8k', 'test');
  const loaderSource = { shards: source.shards, caption: source.caption };
  const gallery = await readGallery(loaderSource, limit);
  const size = bundle.preprocess.size, per = 3 * size * size;
  const pixels = new Float32Array(gallery.keys.length * per);
  const indices: number[] = [];
  for await (const batch of galleryFeed(loaderSource, bundle.preprocess, gallery, { batchSize: DECODE_BATCH })) {
    pixels.set(batch.pixels, indices.length * per);
    indices.push(...batch.indices);
  }
  return { gallery, pixels: pixels.subarray(0, indices.length * per), indices, size };
}

export async function loadEvalData(bundle: Bundle, limit: number): Promise<EvalData> {
  return { cifar10: await labelled(bundle, 'cifar10', limit), cifar100: await labelled(bundle, 'cifar100', limit), flickr8k: await captioned(bundle, limit), limit };
}

/** The decoded images fed again, RUN_BATCH at a time (the batch of every onnxruntime call). */
export async function* labelledBatches(data: LabelledImages): AsyncGenerator<LabelledBatch> {
  const per = 3 * data.size * data.size, count = data.labels.length;
  for (let start = 0; start < count; start += RUN_BATCH) {
    const n = Math.min(RUN_BATCH, count - start);
    yield { pixels: data.pixels.subarray(start * per, (start + n) * per), shape: [n, 3, data.size, data.size], labels: data.labels.subarray(start, start + n) };
  }
}

async function* galleryBatches(data: CaptionedImages): AsyncGenerator<GalleryBatch> {
  const per = 3 * data.size * data.size, count = data.indices.length;
  for (let start = 0; start < count; start += RUN_BATCH) {
    const n = Math.min(RUN_BATCH, count - start);
    yield { pixels: data.pixels.subarray(start * per, (start + n) * per), shape: [n, 3, data.size, data.size], indices: data.indices.slice(start, start + n) };
  }
}

export async function zeroShotTop1(bundle: Bundle, data: LabelledImages): Promise<number> {
  const classifier = buildClassifier(bundle, data.classnames, data.templates);
  try {
    const embedder = await onnxImageEmbedder(bundle, classifier.normParams);
    try {
      return (await scoreClassification(rankByEmbeddings(embedder.embed, classifier.classEmbeddings), labelledBatches(data), data.classnames)).top1;
    } finally {
      await embedder.release();
    }
  } finally {
    disposeClassifier(classifier);
  }
}

export async function retrievalR1(bundle: Bundle, data: CaptionedImages): Promise<{ imageToText: number; textToImage: number }> {
  const normParams = galleryConditioning(bundle, data.gallery);
  const embedder = await onnxImageEmbedder(bundle, normParams).finally(() => disposeNormParams(normParams)); // folded into the graph
  try {
    const scores = await scoreRetrieval(embedder.embed, (texts) => encodeTexts(bundle.model, bundle.tokenizer, texts), data.gallery, galleryBatches(data));
    return { imageToText: scores.imageToText.r1, textToImage: scores.textToImage.r1 };
  } finally {
    await embedder.release();
  }
}

export async function evaluate(bundle: Bundle, data: EvalData): Promise<Scores> {
  const cifar10 = await zeroShotTop1(bundle, data.cifar10);
  const cifar100 = await zeroShotTop1(bundle, data.cifar100);
  return { cifar10, cifar100, ...(await retrievalR1(bundle, data.flickr8k)) };
}
