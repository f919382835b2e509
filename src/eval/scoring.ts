// The one definition of each evaluation metric, over what a model produced
// and never over the model itself (as OpenCLIP's get_metrics takes
// features): top-k accuracy and the confusion counts from ranked class
// indices and true labels, retrieval recall@k from image and caption
// features. Whatever embeds or ranks (libtorch, onnxruntime, a pruned
// model) hands its output here, so every figure of a report is counted the
// same way.
import { noGrad, tidy, type Tensor } from '../engine/index.js';

export interface ClassScore { name: string; accuracy: number; count: number }
export interface Confusion { truth: string; predicted: string; count: number }

export interface ClassificationScores {
  samples: number;
  top1: number;
  top5: number;
  perClass: ClassScore[];
  /** The most frequent mistakes, largest first. */
  confusions: Confusion[];
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

/**
 * Top-1 and top-5 hits and the confusion matrix, counted batch by batch
 * from each image's ranked classes (best first, `width` per image).
 */
export class ClassificationTally {
  readonly width: number;
  private readonly confusion: Int32Array;
  /** Per true class: images given no class at all. */
  private readonly unranked: Int32Array;
  private hits1 = 0;
  private hits5 = 0;
  private counted = 0;

  constructor(readonly classes: number) {
    this.width = Math.min(5, classes);
    this.confusion = new Int32Array(classes * classes);
    this.unranked = new Int32Array(classes);
  }

  get samples(): number {
    return this.counted;
  }

  get top1(): number {
    return this.hits1 / this.counted;
  }

  /**
   * The first labels.length images of `ranked` ([N * width] class indices,
   * best first). -1 fills a row that ranks fewer classes (a scorer that gave
   * no class a score for that image): never a hit, so an image with no
   * class at all counts wrong, in its class's accuracy too.
   */
  add(ranked: ArrayLike<number>, labels: ArrayLike<number>): void {
    const { width, classes } = this;
    for (let i = 0; i < labels.length; i++) {
      const truth = labels[i]!;
      const row = Array.from({ length: width }, (_, j) => ranked[i * width + j]!);
      if (row[0]! >= 0) this.confusion[truth * classes + row[0]!]!++;
      else this.unranked[truth]!++;
      if (row[0] === truth) this.hits1++;
      if (row.includes(truth)) this.hits5++;
    }
    this.counted += labels.length;
  }

  scores(classnames: string[]): ClassificationScores {
    return { samples: this.counted, top1: this.top1, top5: this.hits5 / this.counted, ...summarize(this.confusion, this.unranked, classnames) };
  }
}

/** Top-1 accuracy of [N, K] class scores (logits, cosines, probabilities) against N labels. */
export function top1Accuracy(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const tally = new ClassificationTally(scores.length / labels.length);
  tally.add(topkRows(scores, labels.length, tally.width), labels);
  return tally.top1;
}

function summarize(confusion: Int32Array, unranked: Int32Array, classnames: string[]): { perClass: ClassScore[]; confusions: Confusion[] } {
  const K = classnames.length;
  const perClass: ClassScore[] = [];
  const confusions: Confusion[] = [];
  for (let t = 0; t < K; t++) {
    let count = unranked[t]!;
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

export interface RecallAtK { r1: number; r5: number; r10: number }

/** Of each row of a similarity matrix: is one of its 1, 5, 10 most similar columns a match? */
function recallAtK(similarity: Tensor, isMatch: (row: number, col: number) => boolean): RecallAtK {
  const rows = similarity.size(0);
  const k = Math.min(10, similarity.size(1));
  const [, top] = similarity.topk(k, 1);
  const ranked = top.toArray();
  top.dispose();
  const hits = { r1: 0, r5: 0, r10: 0 };
  for (let r = 0; r < rows; r++) {
    const first = ranked.slice(r * k, (r + 1) * k).findIndex((c) => isMatch(r, c));
    if (first < 0) continue;
    if (first < 1) hits.r1++;
    if (first < 5) hits.r5++;
    if (first < 10) hits.r10++;
  }
  return { r1: hits.r1 / rows, r5: hits.r5 / rows, r10: hits.r10 / rows };
}

/**
 * Image-to-text and text-to-image recall@1/5/10 of L2-normalised image
 * features [M, E] and caption features [C, E]; imageOfCaption[c] is the row
 * of caption c's own image (an image has several captions: any of them is a
 * hit for it).
 */
export function retrievalRecall(images: Tensor, texts: Tensor, imageOfCaption: ArrayLike<number>): { imageToText: RecallAtK; textToImage: RecallAtK } {
  if (texts.size(0) !== imageOfCaption.length) throw new Error(`${texts.size(0)} caption features for ${imageOfCaption.length} captions`);
  return noGrad(() => tidy(() => {
    const similarity = images.matmul(texts.transpose(0, 1)); // [M, C]
    return {
      imageToText: recallAtK(similarity, (img, cap) => imageOfCaption[cap] === img),
      textToImage: recallAtK(similarity.transpose(0, 1).contiguous(), (cap, img) => imageOfCaption[cap] === img),
    };
  }));
}
