// One dataset of the few-shot experiment: descriptions and class prompts
// embedded once, the shot pool (train split) and the test sample embedded
// once per conditioning, then every method fitted on every draw and shot
// count, scored on the same test images.
import type { Bundle } from '../../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource } from '../../src/data/index.js';
import type { ClassDescriptions } from '../../src/fewshot/descriptions.js';
import { buildTextSide, disposeTextSide, embedEncoded, embedShards, type Conditioning, type TextSide } from '../../src/fewshot/embed.js';
import { accuracy, argmaxRows, basisOf, featuresOf, fitHeadOnEmbeddings, headLogitsOnFeatures, rowsOfMatrix, zeroShotScores, type Method } from '../../src/fewshot/head.js';
import { nonZeros } from '../../src/fewshot/logistic.js';
import { readShotPool, shotIndices } from '../../src/fewshot/shots.js';

export interface Variant { id: string; label: string; method: Method; conditioning: Conditioning }

export const VARIANTS: Variant[] = [
  { id: 'slr-avd', label: 'SLR-AVD (encoder from class prompts)', method: 'slr-avd', conditioning: 'prompts' },
  { id: 'slr-avd-desc', label: 'SLR-AVD (encoder from all descriptions)', method: 'slr-avd', conditioning: 'descriptions' },
  { id: 'l1-prompts', label: 'L1 on class-prompt features', method: 'l1-prompts', conditioning: 'prompts' },
  { id: 'linear-probe', label: 'L2 linear probe on image embeddings', method: 'linear-probe', conditioning: 'prompts' },
];

export interface FitRecord { variant: string; shots: number; draw: number; accuracy: number; nonZeros: number; features: number; lambda: number; cvFolds: number; seconds: number }

export interface DatasetResult {
  dataset: string;
  classes: number;
  descriptionSource: string;
  descriptions: number;
  testImages: number;
  zeroShot: number;
  fits: FitRecord[];
  /** For the report: the selected descriptions of the largest-shot SLR-AVD fit of draw 0, a few classes. */
  example: { className: string; texts: string[] }[];
  seconds: number;
}

export interface RunPlan { shots: number[]; draws: number; testLimit: number; folds: number }

export async function runDataset(bundle: Bundle, dataset: 'cifar10' | 'cifar100', descriptions: ClassDescriptions, plan: RunPlan,
  log: (text: string) => void): Promise<DatasetResult> {
  const started = Date.now();
  const test = resolveDataset(dataset, 'test');
  const train = resolveDataset(dataset, 'train');
  const { classnames, templates } = test.caption as Extract<CaptionSource, { kind: 'label' }>;
  const side = buildTextSide(bundle, descriptions, templates);
  try {
    log(`${dataset}: ${side.firstPrompt} descriptions (${descriptions.source}) + ${classnames.length} class prompts (${templates.length} templates)`);
    const maxShots = Math.max(...plan.shots);
    const pool = await readShotPool({ shards: train.shards }, classnames, maxShots * plan.draws, (read) => log(`${dataset}: read ${read} train samples`));
    const conditionings = [side.normParams.prompts, side.normParams.descriptions];
    const poolImages = await embedEncoded(bundle, pool.images, pool.labels, conditionings);
    log(`${dataset}: embedded ${pool.images.length} train images (${maxShots} x ${plan.draws} draws per class), 2 conditionings`);
    const testImages = await embedShards(bundle, { shards: test.shards }, classnames, conditionings, plan.testLimit,
      (done) => { if (done % 1024 === 0) log(`${dataset}: embedded ${done} test images`); });
    const embeddingsOf = (images: typeof poolImages, c: Conditioning) => images.embeddings.get(side.normParams[c])!;
    const zeroShot = accuracy(argmaxRows(zeroShotScores(side, embeddingsOf(testImages, 'prompts'), testImages.count), classnames.length), testImages.labels);
    log(`${dataset}: zero-shot ${(100 * zeroShot).toFixed(2)}% on ${testImages.count} test images`);
    const fits: FitRecord[] = [];
    const example: DatasetResult['example'] = [];
    for (const variant of VARIANTS) {
      const basis = basisOf(variant.method, side);
      const poolEmbeddings = embeddingsOf(poolImages, variant.conditioning);
      const testFeatures = featuresOf(basis, embeddingsOf(testImages, variant.conditioning), testImages.count);
      const F = basis.names.length;
      for (let draw = 0; draw < plan.draws; draw++) {
        for (const shots of plan.shots) {
          const t0 = Date.now();
          const rows = shotIndices(pool, shots, draw, maxShots);
          const head = fitHeadOnEmbeddings(variant.method, basis, classnames, rowsOfMatrix(poolEmbeddings, basis.dim, rows),
            Int32Array.from(rows, (r) => pool.labels[r]!), { folds: plan.folds, seed: draw });
          const acc = accuracy(argmaxRows(headLogitsOnFeatures(head, testFeatures, testImages.count), classnames.length), testImages.labels);
          const seconds = (Date.now() - t0) / 1000;
          fits.push({ variant: variant.id, shots, draw, accuracy: acc, nonZeros: nonZeros(head.model), features: F, lambda: head.model.lambda, cvFolds: head.cv.folds, seconds });
          log(`${dataset} ${variant.id} draw ${draw} ${shots}-shot: ${(100 * acc).toFixed(2)}% (${nonZeros(head.model)}/${F * classnames.length} weights, ` +
            `${head.cv.folds > 0 ? `${head.cv.folds}-fold CV` : 'fallback'} lambda ${head.model.lambda.toPrecision(3)}, ${seconds.toFixed(1)} s)`);
          if (variant.id === 'slr-avd' && draw === 0 && shots === maxShots) example.push(...exampleSelections(head, side, 4));
        }
      }
    }
    return {
      dataset, classes: classnames.length, descriptionSource: descriptions.source, descriptions: side.firstPrompt, testImages: testImages.count,
      zeroShot, fits, example, seconds: (Date.now() - started) / 1000,
    };
  } finally {
    disposeTextSide(side);
  }
}

function exampleSelections(head: ReturnType<typeof fitHeadOnEmbeddings>, side: TextSide, classes: number): DatasetResult['example'] {
  const F = head.names.length;
  return side.classNames.slice(0, classes).map((className, k) => {
    const chosen = head.names.map((text, f) => ({ text, w: head.model.weight[k * F + f]! })).filter((e) => e.w > 0).sort((a, b) => b.w - a.w);
    return { className, texts: chosen.slice(0, 5).map((e) => `${e.text} (${e.w.toFixed(2)})`) };
  });
}
