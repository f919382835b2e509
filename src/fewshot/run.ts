// Few-shot learning for a class list in one call: descriptions and class
// prompts through the text encoder, the image encoder generated from them,
// shots read from labelled shards, a head fitted per shot count and draw
// (scored on test shards when given), and the head of the largest shot
// count of draw 0 returned for export.
import type { Bundle } from '../bundle/bundle.js';
import type { LoaderFiles } from '../data/index.js';
import type { ClassDescriptions } from './descriptions.js';
import { buildTextSide, disposeTextSide, embedEncoded, embedShards, type Conditioning, type EmbeddedImages, type TextSide } from './embed.js';
import { accuracy, argmaxRows, basisOf, featuresOf, fitHeadOnEmbeddings, headLogitsOnFeatures, rowsOfMatrix, zeroShotScores, type FeatureHead, type Method } from './head.js';
import { nonZeros } from './logistic.js';
import { readShotPool, shotIndices } from './shots.js';

export interface FewShotTask {
  descriptions: ClassDescriptions;
  templates: string[];
  /** Labelled shards or loose files (resolveData) to take the shots from, and to score on. */
  train: LoaderFiles;
  test?: LoaderFiles;
  testLimit?: number;
  shots: number[];
  draws: number;
  methods: Method[];
  conditioning: Conditioning;
  folds?: number;
  onProgress?: (line: string) => void;
}

export interface ScoredFit { method: Method; shots: number; draw: number; accuracy: number | null; nonZeros: number; lambda: number; cv: string }

export interface FewShotOutcome {
  fits: ScoredFit[];
  zeroShot: number | null;
  testImages: number;
  /** What reading the shots and the test images skipped, one line. */
  skipped: string;
  /** The SLR-AVD (or first method's) head on the largest shot count, draw 0, and the conditioning it used. */
  final: FeatureHead;
  side: TextSide;
}

/** Runs the task; the caller disposes outcome.side with disposeTextSide once it has exported. */
export async function runFewShot(bundle: Bundle, task: FewShotTask): Promise<FewShotOutcome> {
  const say = task.onProgress ?? (() => undefined);
  const { classNames } = task.descriptions;
  const side = buildTextSide(bundle, task.descriptions, task.templates);
  try {
    say(`${side.firstPrompt} descriptions (${task.descriptions.source}) + ${classNames.length} class prompts; image encoder generated from the ${task.conditioning}`);
    const maxShots = Math.max(...task.shots);
    const pool = await readShotPool(task.train, classNames, maxShots * task.draws, (read) => say(`read ${read} training samples`));
    const conditioning = side.normParams[task.conditioning];
    const prompts = side.normParams.prompts;
    const poolImages = await embedEncoded(bundle, pool.images, pool.labels, [conditioning], (done) => say(`embedded ${done}/${pool.images.length} shot images`));
    let test: EmbeddedImages | null = null;
    let zeroShot: number | null = null;
    if (task.test !== undefined) {
      test = await embedShards(bundle, task.test, classNames, [...new Set([conditioning, prompts])], task.testLimit,
        (done) => { if (done % 1024 === 0) say(`embedded ${done} test images`); });
      zeroShot = accuracy(argmaxRows(zeroShotScores(side, test.embeddings.get(prompts)!, test.count), classNames.length), test.labels);
      say(`zero-shot: ${(100 * zeroShot).toFixed(2)}% on ${test.count} test images`);
    }
    const fits: ScoredFit[] = [];
    let final: FeatureHead | null = null;
    for (const method of task.methods) {
      const basis = basisOf(method, side);
      const poolEmbeddings = poolImages.embeddings.get(conditioning)!;
      const testFeatures = test === null ? null : featuresOf(basis, test.embeddings.get(conditioning)!, test.count);
      for (let draw = 0; draw < task.draws; draw++) {
        for (const shots of task.shots) {
          const rows = shotIndices(pool, shots, draw, maxShots);
          const head = fitHeadOnEmbeddings(method, basis, classNames, rowsOfMatrix(poolEmbeddings, basis.dim, rows),
            Int32Array.from(rows, (r) => pool.labels[r]!), { folds: task.folds, seed: draw });
          const acc = test === null ? null : accuracy(argmaxRows(headLogitsOnFeatures(head, testFeatures!, test.count), classNames.length), test.labels);
          const cv = head.cv.fallback ?? `${head.cv.folds}-fold CV`;
          fits.push({ method, shots, draw, accuracy: acc, nonZeros: nonZeros(head.model), lambda: head.model.lambda, cv });
          say(`${method} ${shots}-shot draw ${draw}: ${acc === null ? '' : `${(100 * acc).toFixed(2)}%, `}${nonZeros(head.model)} non-zero weights, lambda ${head.model.lambda.toPrecision(3)} (${cv})`);
          if (draw === 0 && shots === maxShots && final === null) final = head;
        }
      }
    }
    const skipped = [`shots ${pool.skips.summary()}`, ...(test?.skipped ? [`test ${test.skipped}`] : [])].join(', ');
    // Test samples of classes outside the list count as bad_annotation: a stated line, not part of the result.
    say(`read: ${skipped}`);
    return { fits, zeroShot, testImages: test?.count ?? 0, skipped, final: final!, side };
  } catch (err) {
    disposeTextSide(side);
    throw err;
  }
}
