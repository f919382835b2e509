// One dataset of the few-shot experiment: `hyperclip fewshot`'s run
// (src/fewshot/run.ts) with every variant of the comparison, its fits kept
// as the experiment's record.
import type { Bundle } from '../../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource } from '../../src/data/index.js';
import type { ClassDescriptions } from '../../src/fewshot/descriptions.js';
import { disposeTextSide } from '../../src/fewshot/embed.js';
import { selectedFeatures } from '../../src/fewshot/head.js';
import { runFewShot, type FewShotVariant } from '../../src/fewshot/run.js';

export interface Variant extends FewShotVariant { label: string }

/** SLR-AVD with the deployed (class-prompt) encoder first: its largest-shot head of draw 0 gives the report's examples. */
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

const EXAMPLE_CLASSES = 4;
const EXAMPLE_TEXTS = 5;

export async function runDataset(bundle: Bundle, dataset: 'cifar10' | 'cifar100', descriptions: ClassDescriptions, plan: RunPlan,
  log: (text: string) => void): Promise<DatasetResult> {
  const started = Date.now();
  const test = resolveDataset(dataset, 'test');
  const train = resolveDataset(dataset, 'train');
  const { classnames, templates } = test.caption as Extract<CaptionSource, { kind: 'label' }>;
  const outcome = await runFewShot(bundle, {
    descriptions, templates, train: { shards: train.shards }, test: { shards: test.shards }, testLimit: plan.testLimit,
    shots: plan.shots, draws: plan.draws, folds: plan.folds, variants: VARIANTS, onProgress: (line) => log(`${dataset}: ${line}`),
  });
  try {
    const example = selectedFeatures(outcome.final).slice(0, EXAMPLE_CLASSES).map(({ className, positive }) =>
      ({ className, texts: positive.slice(0, EXAMPLE_TEXTS).map((p) => `${p.text} (${p.weight.toFixed(2)})`) }));
    return {
      dataset, classes: classnames.length, descriptionSource: descriptions.source, descriptions: outcome.side.firstPrompt, testImages: outcome.testImages,
      zeroShot: outcome.zeroShot!,
      fits: outcome.fits.map((f) => ({
        variant: f.variant, shots: f.shots, draw: f.draw, accuracy: f.accuracy!, nonZeros: f.nonZeros, features: f.features, lambda: f.lambda, cvFolds: f.cvFolds, seconds: f.seconds,
      })),
      example, seconds: (Date.now() - started) / 1000,
    };
  } finally {
    disposeTextSide(outcome.side);
  }
}
