// Classification accuracy over labelled shards, whatever ranks the classes:
// a zero-shot HyperCLIP classifier, an imported network's supervised head on
// libtorch, or a deployed .onnx classifier on onnxruntime. One loop, so every
// number is counted the same way (seeded sample under a limit, top-1/top-5,
// per-class accuracy, most frequent confusions).
import { createLoader, type LoaderSource } from '../data/index.js';
import type { PreprocessSpec } from '../data/preprocess.js';
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { LabelClassifier } from '../models/label-classifier.js';

/** The k best classes of each image of a CLIP-normalised NCHW batch, best first: [N * k] class indices. */
export type RankBatch = (pixels: Float32Array, shape: [number, number, number, number], k: number) => ArrayLike<number> | Promise<ArrayLike<number>>;

export interface ClassificationOptions {
  limit?: number;
  batchSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number | null) => void;
}

export interface ClassScore { name: string; accuracy: number; count: number }
export interface Confusion { truth: string; predicted: string; count: number }

export interface ClassificationResult {
  samples: number;
  top1: number;
  top5: number;
  perClass: ClassScore[];
  /** The most frequent mistakes, largest first. */
  confusions: Confusion[];
  skipped: string;
}

/**
 * Test shards are often stored sorted by class, so the first n samples are
 * not a fair sample: with a limit, read a seeded shuffle of one pass instead.
 */
export function sampling(limit: number | undefined): { shuffle: boolean; epochs?: number; shuffleBuffer?: number; seed?: number } {
  return limit === undefined ? { shuffle: false } : { shuffle: true, epochs: 1, shuffleBuffer: 20_000, seed: 1234 };
}

export async function evaluateClassification(rank: RankBatch, source: LoaderSource, classnames: string[], preprocess: PreprocessSpec,
  options: ClassificationOptions = {}): Promise<ClassificationResult> {
  const K = classnames.length;
  const width = Math.min(5, K);
  const batchSize = Math.min(options.batchSize ?? 256, options.limit ?? Infinity); // never decode more than the limit
  const loader = createLoader({ sources: [source], batchSize, preprocess, workers: options.workers, ...sampling(options.limit) });
  const confusion = new Int32Array(K * K);
  let samples = 0, hits1 = 0, hits5 = 0;
  try {
    for await (const batch of loader) {
      if (batch.labels === null) throw new Error('the evaluated data has no class labels (.cls members)');
      const take = options.limit === undefined ? batch.size : Math.min(batch.size, options.limit - samples);
      const ranked = await rank(batch.images, [batch.size, 3, batch.height, batch.width], width); // [N * width]
      for (let i = 0; i < take; i++) {
        const truth = batch.labels[i]!;
        const row = Array.from({ length: width }, (_, j) => ranked[i * width + j]!);
        confusion[truth * K + row[0]!]!++;
        if (row[0] === truth) hits1++;
        if (row.includes(truth)) hits5++;
      }
      samples += take;
      options.onProgress?.(samples, options.limit ?? null);
      if (options.limit !== undefined && samples >= options.limit) break;
    }
  } finally {
    await loader.close();
  }
  if (samples === 0) throw new Error(`no readable samples in the evaluated data (${loader.skips.summary()})`);
  return { samples, top1: hits1 / samples, top5: hits5 / samples, ...summarize(confusion, classnames), skipped: loader.skips.summary() };
}

/**
 * Images per forward pass when ranking on libtorch: 16 at 224 px. A forward
 * under tidy() holds every intermediate activation until it returns (about
 * 60 MB per 224 px image for MobileNet v2), so a 256-image batch would need
 * about 15 GB.
 */
const CHUNK_PIXELS = 16 * 224 * 224;

/** Ranks a batch in memory-bounded chunks, each forward in its own tidy() scope; `topk` returns a chunk's [m, k] indices. */
export function inChunks(topk: (chunk: Tensor, k: number) => Tensor, chunkPixels = CHUNK_PIXELS): RankBatch {
  return (pixels, [n, c, h, w], k) => {
    const chunk = Math.max(1, Math.floor(chunkPixels / (h * w)));
    const out: number[] = [];
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const part = pixels.subarray(start * c * h * w, (start + m) * c * h * w);
      out.push(...(noGrad(() => tidy(() => topk(tensor(part, [m, c, h, w]), k).toArray())) as number[]));
    }
    return out;
  };
}

/** A label classifier (an imported network with its ImageNet head) on libtorch, in memory-bounded chunks. */
export function rankWithLabelClassifier(classifier: LabelClassifier): RankBatch {
  return inChunks((images, k) => classifier.forward(images).topk(k, 1)[1]);
}

/** The k largest scores' indices of each row of [N, K] scores, best first (ties: the lower index). */
export function topkRows(scores: ArrayLike<number>, rows: number, k: number): Int32Array {
  const K = scores.length / rows;
  const out = new Int32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const best: number[] = [];
    for (let c = 0; c < K; c++) {
      const v = scores[i * K + c]!;
      if (best.length === k && !(v > scores[i * K + best[k - 1]!]!)) continue;
      let at = best.length;
      while (at > 0 && v > scores[i * K + best[at - 1]!]!) at--;
      best.splice(at, 0, c);
      if (best.length > k) best.pop();
    }
    out.set(best, i * k);
  }
  return out;
}

function summarize(confusion: Int32Array, classnames: string[]): { perClass: ClassScore[]; confusions: Confusion[] } {
  const K = classnames.length;
  const perClass: ClassScore[] = [];
  const confusions: Confusion[] = [];
  for (let t = 0; t < K; t++) {
    let count = 0;
    for (let p = 0; p < K; p++) {
      const n = confusion[t * K + p]!;
      count += n;
      if (p !== t && n > 0) confusions.push({ truth: classnames[t]!, predicted: classnames[p]!, count: n });
    }
    perClass.push({ name: classnames[t]!, accuracy: count === 0 ? NaN : confusion[t * K + t]! / count, count });
  }
  confusions.sort((a, b) => b.count - a.count);
  return { perClass, confusions: confusions.slice(0, 10) };
}
