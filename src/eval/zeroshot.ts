// Zero-shot classification: class names through prompt templates, one
// embedding per class (averaged over templates), and for HyperCLIP the image
// encoder conditioned on the evaluated class set, exactly as a deployed
// classifier would be.
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import { createLoader, type LoaderSource } from '../data/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { ZeroShotClassifier } from '../models/index.js';
import { tokenize } from './text-features.js';

export interface ZeroShotOptions {
  limit?: number;
  batchSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number | null) => void;
}

export interface ClassScore { name: string; accuracy: number; count: number }
export interface Confusion { truth: string; predicted: string; count: number }

export interface ZeroShotResult {
  samples: number;
  top1: number;
  top5: number;
  perClass: ClassScore[];
  /** The most frequent mistakes, largest first. */
  confusions: Confusion[];
  skipped: string;
}

/** The class embeddings [K, E] and generated norm parameters for a class set. */
export function buildClassifier(bundle: Bundle, classnames: string[], templates: string[]): ZeroShotClassifier {
  if (classnames.length === 0) throw new Error('the class list is empty: give at least one class name');
  const prompts = classnames.flatMap((name) => templates.map((t) => t.replaceAll('{}', name)));
  return noGrad(() => tidy(() => {
    const ids = tokenize(bundle.tokenizer, prompts).reshape([classnames.length, templates.length, bundle.tokenizer.contextLength]);
    return bundle.model.zeroShotClassifier(ids); // [K, E] + norm params [1, C]
  }));
}

export function disposeClassifier(c: ZeroShotClassifier): void {
  c.classEmbeddings.dispose();
  for (const { scale, shift } of c.normParams?.values() ?? []) {
    scale.dispose();
    shift.dispose();
  }
}

/** Logits [N, K] of a float32 NCHW batch. */
export function classifyPixels(bundle: Bundle, classifier: ZeroShotClassifier, pixels: Float32Array, shape: number[]): Tensor {
  return noGrad(() => tidy(() => bundle.model.classify(tensor(pixels, shape), classifier)));
}

/**
 * Test shards are often stored sorted by class, so the first n samples are
 * not a fair sample: with a limit, read a seeded shuffle of one pass instead.
 */
export function sampling(limit: number | undefined): { shuffle: boolean; epochs?: number; shuffleBuffer?: number; seed?: number } {
  return limit === undefined ? { shuffle: false } : { shuffle: true, epochs: 1, shuffleBuffer: 20_000, seed: 1234 };
}

export async function evaluateZeroShot(bundle: Bundle, source: LoaderSource, classnames: string[], templates: string[],
  options: ZeroShotOptions = {}): Promise<ZeroShotResult> {
  const K = classnames.length;
  const classifier = buildClassifier(bundle, classnames, templates);
  const loader = createLoader({ sources: [source], batchSize: options.batchSize ?? 256, preprocess: bundle.preprocess, workers: options.workers, ...sampling(options.limit) });
  const confusion = new Int32Array(K * K);
  let samples = 0, hits1 = 0, hits5 = 0;
  try {
    for await (const batch of loader) {
      if (batch.labels === null) throw new Error('the evaluated data has no class labels (.cls members)');
      const take = options.limit === undefined ? batch.size : Math.min(batch.size, options.limit - samples);
      const logits = classifyPixels(bundle, classifier, batch.images, [batch.size, 3, batch.height, batch.width]);
      const [, top] = logits.topk(Math.min(5, K), 1);
      const ranked = top.toArray(); // [N, min(5, K)]
      const width = Math.min(5, K);
      logits.dispose();
      top.dispose();
      for (let i = 0; i < take; i++) {
        const truth = batch.labels[i]!;
        const row = ranked.slice(i * width, (i + 1) * width);
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
    disposeClassifier(classifier);
  }
  if (samples === 0) throw new Error(`no readable samples in the evaluated data (${loader.skips.summary()})`);
  return { samples, top1: hits1 / samples, top5: hits5 / samples, ...summarize(confusion, classnames), skipped: loader.skips.summary() };
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

