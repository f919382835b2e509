// Few-shot learning for a class list in one call: descriptions and class
// prompts through the text encoder, the image encoder generated from them,
// shots read from labelled shards, a head fitted per shot count and draw
// (scored on test shards when given), and the head of the largest shot
// count of draw 0 returned for export.
import type { Bundle } from '../bundle/bundle.js';
import type { LoaderFiles } from '../data/index.js';
import { percent } from '../eval/format.js';
import { top1Accuracy } from '../eval/scoring.js';
import type { ClassDescriptions } from './descriptions.js';
import { buildTextSide, disposeTextSide, embedEncoded, embedShards, type Conditioning, type EmbeddedImages, type TextSide } from './embed.js';
import { basisOf, featuresOf, fitHeadOnEmbeddings, headLogitsOnFeatures, rowsOfMatrix, zeroShotScores, type FeatureHead, type Method } from './head.js';
import { nonZeros } from './logistic.js';
import { readShotPool, shotIndices } from './shots.js';

/** A method fitted on the image embeddings of one conditioning of the image encoder; `id` names its fits. */
export interface FewShotVariant { id: string; method: Method; conditioning: Conditioning }

interface FewShotData {
  descriptions: ClassDescriptions;
  templates: string[];
  /** Labelled shards or loose files (resolveData) to take the shots from, and to score on. */
  train: LoaderFiles;
  test?: LoaderFiles;
  testLimit?: number;
  shots: number[];
  draws: number;
  folds?: number;
  onProgress?: (line: string) => void;
}

/** Methods under one conditioning, or (to compare conditionings) variants each with its own; the first one's head is the outcome's final one. */
export type FewShotTask = FewShotData & ({ methods: Method[]; conditioning: Conditioning } | { variants: FewShotVariant[] });

export interface ScoredFit {
  method: Method;
  shots: number;
  draw: number;
  accuracy: number | null;
  nonZeros: number;
  lambda: number;
  cv: string;
  /** The variant's id (the method's name when the task gave methods), its conditioning and its feature count. */
  variant: string;
  conditioning: Conditioning;
  features: number;
  /** Cross-validation folds (0: the one-shot fallback penalty). */
  cvFolds: number;
  /** Wall clock of the fit and its scoring. */
  seconds: number;
}

export interface FewShotOutcome {
  fits: ScoredFit[];
  zeroShot: number | null;
  testImages: number;
  /** What reading the shots and the test images skipped, one line. */
  skipped: string;
  /** The first variant's (SLR-AVD's, by default) head on the largest shot count, draw 0. */
  final: FeatureHead;
  side: TextSide;
}

const variantsOf = (task: FewShotTask): FewShotVariant[] =>
  ('variants' in task ? task.variants : task.methods.map((method) => ({ id: method, method, conditioning: task.conditioning })));

/** Runs the task; the caller disposes outcome.side with disposeTextSide once it has exported. */
export async function runFewShot(bundle: Bundle, task: FewShotTask): Promise<FewShotOutcome> {
  const say = task.onProgress ?? (() => undefined);
  const { classNames } = task.descriptions;
  const variants = variantsOf(task);
  const conditionings = [...new Set(variants.map((v) => v.conditioning))];
  const side = buildTextSide(bundle, task.descriptions, task.templates);
  try {
    say(`${side.firstPrompt} descriptions (${task.descriptions.source}) + ${classNames.length} class prompts; image encoder generated from the ${conditionings.join(' and from the ')}`);
    const maxShots = Math.max(...task.shots);
    const pool = await readShotPool(task.train, classNames, maxShots * task.draws, (read) => say(`read ${read} training samples`));
    const normParams = [...new Set(conditionings.map((c) => side.normParams[c]))];
    const prompts = side.normParams.prompts;
    const poolImages = await embedEncoded(bundle, pool.images, pool.labels, normParams, (done) => say(`embedded ${done}/${pool.images.length} shot images`));
    let test: EmbeddedImages | null = null;
    let zeroShot: number | null = null;
    if (task.test !== undefined) {
      test = await embedShards(bundle, task.test, classNames, [...new Set([...normParams, prompts])], task.testLimit,
        (done) => { if (done % 1024 === 0) say(`embedded ${done} test images`); });
      zeroShot = top1Accuracy(zeroShotScores(side, test.embeddings.get(prompts)!, test.count), test.labels);
      say(`zero-shot: ${percent(zeroShot, { unit: true })} on ${test.count} test images`);
    }
    const fits: ScoredFit[] = [];
    let final: FeatureHead | null = null;
    for (const { id, method, conditioning } of variants) {
      const basis = basisOf(method, side);
      const poolEmbeddings = poolImages.embeddings.get(side.normParams[conditioning])!;
      const testFeatures = test === null ? null : featuresOf(basis, test.embeddings.get(side.normParams[conditioning])!, test.count);
      for (let draw = 0; draw < task.draws; draw++) {
        for (const shots of task.shots) {
          const started = Date.now();
          const rows = shotIndices(pool, shots, draw, maxShots);
          const head = fitHeadOnEmbeddings(method, basis, classNames, rowsOfMatrix(poolEmbeddings, basis.dim, rows),
            Int32Array.from(rows, (r) => pool.labels[r]!), { folds: task.folds, seed: draw });
          const acc = test === null ? null : top1Accuracy(headLogitsOnFeatures(head, testFeatures!, test.count), test.labels);
          const cv = head.cv.fallback ?? `${head.cv.folds}-fold CV`;
          const seconds = (Date.now() - started) / 1000;
          fits.push({
            method, shots, draw, accuracy: acc, nonZeros: nonZeros(head.model), lambda: head.model.lambda, cv,
            variant: id, conditioning, features: basis.names.length, cvFolds: head.cv.folds, seconds,
          });
          say(`${id} ${shots}-shot draw ${draw}: ${acc === null ? '' : `${percent(acc, { unit: true })}, `}${nonZeros(head.model)} non-zero weights, lambda ${head.model.lambda.toPrecision(3)} (${cv})`);
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
