// Classification accuracy of whatever ranks the classes: a zero-shot
// HyperCLIP classifier, an imported network's supervised head on libtorch, a
// deployed .onnx classifier on onnxruntime, or any image embedder against
// class embeddings. The batches come from a feed (src/eval/feed.ts) and the
// counting is src/eval/scoring.ts's, so every number is counted the same way
// (seeded sample under a limit, top-1/top-5, per-class accuracy, most
// frequent confusions).
import type { LoaderSource } from '../data/index.js';
import type { PreprocessSpec } from '../data/preprocess.js';
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { LabelClassifier } from '../models/label-classifier.js';
import { labelledFeed, sampling, type FeedOptions, type LabelledBatch } from './feed.js';
import type { ImageEmbedder } from './image-features.js';
import { ClassificationTally, topkRows, type ClassificationScores } from './scoring.js';

// Where the ranking and sampling helpers were first imported from.
export { sampling, topkRows };
export type { ClassScore, Confusion } from './scoring.js';

/** The k best classes of each image of a CLIP-normalised NCHW batch, best first: [N * k] class indices. */
export type RankBatch = (pixels: Float32Array, shape: [number, number, number, number], k: number) => ArrayLike<number> | Promise<ArrayLike<number>>;

export interface ClassificationOptions extends FeedOptions {
  onProgress?: (done: number, total: number | null) => void;
}

export interface ClassificationResult extends ClassificationScores {
  skipped: string;
}

/** Ranks every batch of a feed and counts the hits. */
export async function scoreClassification(rank: RankBatch, batches: AsyncIterable<LabelledBatch>, classnames: string[],
  onProgress?: (done: number) => void): Promise<ClassificationScores> {
  const tally = new ClassificationTally(classnames.length);
  for await (const batch of batches) {
    tally.add(await rank(batch.pixels, batch.shape, tally.width), batch.labels); // [N * width]
    onProgress?.(tally.samples);
  }
  return tally.scores(classnames);
}

export async function evaluateClassification(rank: RankBatch, source: LoaderSource, classnames: string[], preprocess: PreprocessSpec,
  options: ClassificationOptions = {}): Promise<ClassificationResult> {
  const feed = labelledFeed(source, preprocess, options);
  const scores = await scoreClassification(rank, feed, classnames, (done) => options.onProgress?.(done, options.limit ?? null));
  if (scores.samples === 0) throw new Error(`no readable samples in the evaluated data (${feed.skipped()})`);
  return { ...scores, skipped: feed.skipped() };
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

/** Ranks by cosine to class embeddings [K, E] (L2-normalised), whatever embeds the images. */
export function rankByEmbeddings(embed: ImageEmbedder, classEmbeddings: Tensor): RankBatch {
  return async (pixels, shape, k) => {
    const embeddings = await embed(pixels, shape); // [N, E]
    const scores = noGrad(() => tidy(() => tensor(embeddings, [shape[0], embeddings.length / shape[0]]).matmul(classEmbeddings.transpose(0, 1)).toArray())); // [N, K]
    return topkRows(scores, shape[0], k);
  };
}
