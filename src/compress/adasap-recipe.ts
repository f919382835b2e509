// The settings of one compression run: the method, the FLOPs target and the
// budget of each phase, with defaults sized for the 2-core CPU. The data,
// tokenizer, freeze list, weight decay and gradient clip come from the
// training recipe the model was trained with (its folder names it), so the
// objective is the model's own pre-training loss on its own mixture.
import { SALIENCY_KINDS, type SaliencyKind } from './saliency.js';
import { checkFlopsRatio, checkSaliencyScale, type SaliencyScale } from './channel-plan.js';
import type { DataSourceConfig } from '../train/recipes.js';

export const COMPRESS_METHODS = ['adasap', 'prune-finetune', 'sam'] as const;
export type CompressMethod = typeof COMPRESS_METHODS[number];

export interface CompressConfig {
  method: CompressMethod;
  /** Data to compress on instead of the model's training mixture: your own captioned or labelled data (resolveData). */
  data?: DataSourceConfig;
  /** Target multiply-adds of the classifier as a fraction of the dense model's. */
  flopsRatio: number;
  seed: number;
  /** Steps before pruning (AdaSAP: adaptive sharpness-aware; sam: SAM; prune-finetune: plain). */
  warmupSteps: number;
  /** Steps after pruning (AdaSAP: ASAM; sam: SAM; prune-finetune: plain). */
  finetuneSteps: number;
  batchSize: number;
  /** Peak learning rate of each phase (linear warm-up over lrWarmupSteps, cosine down to minLrRatio x lr). */
  lr: number;
  lrWarmupSteps: number;
  minLrRatio: number;
  /** SAM radius (the sam baseline, and the reference AdaSAP's channel radii are relative to). */
  rho: number;
  /** AdaSAP warm-up: the most important channel of a group gets rhoMin, the least important rhoMax. */
  rhoMin: number;
  rhoMax: number;
  /** Steps between AdaSAP's updates of the channel radii from the running saliency. */
  radiusRefreshSteps: number;
  /** ASAM fine-tuning radius and its eta (T = |w| + eta). */
  asamRho: number;
  asamEta: number;
  saliency: SaliencyKind;
  /** How the plan compares saliencies across groups (channel-plan.ts). */
  saliencyScale: SaliencyScale;
  /** Images of the training mixture on which the pruned layers' successors are solved to reproduce the dense model (reconstruct.ts); 0: none. */
  calibrationImages: number;
  /** Channels removed together, and the fraction of each group that always stays. */
  granularity: number;
  minKeepFraction: number;
}

export const COMPRESS_DEFAULTS: Omit<CompressConfig, 'method' | 'flopsRatio' | 'data'> = {
  seed: 0,
  warmupSteps: 100,
  finetuneSteps: 100,
  batchSize: 64,
  lr: 5e-4,
  lrWarmupSteps: 10,
  minLrRatio: 0.1,
  rho: 0.05,
  rhoMin: 0.01,
  rhoMax: 0.1,
  radiusRefreshSteps: 10,
  // Chosen on Tiny ImageNet val (docs/asam-radius.md): at 0.5 the pruned model's fine-tune collapsed to chance.
  asamRho: 0.02,
  asamEta: 0.01,
  saliency: 'taylor',
  saliencyScale: 'global',
  calibrationImages: 256,
  granularity: 8,
  minKeepFraction: 0.25,
};

export function resolveCompressConfig(partial: Partial<CompressConfig> & Pick<CompressConfig, 'method' | 'flopsRatio'>): CompressConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c = { ...COMPRESS_DEFAULTS, ...defined } as CompressConfig;
  if (!COMPRESS_METHODS.includes(c.method)) throw new Error(`unknown compression method "${c.method}": expected ${COMPRESS_METHODS.join(', ')}`);
  checkFlopsRatio(c.flopsRatio);
  checkSaliencyScale(c.saliencyScale);
  if (!SALIENCY_KINDS.includes(c.saliency)) throw new Error(`unknown saliency "${c.saliency}": expected ${SALIENCY_KINDS.join(', ')}`);
  for (const f of ['warmupSteps', 'finetuneSteps', 'lrWarmupSteps', 'seed', 'calibrationImages'] as const) {
    if (!Number.isInteger(c[f]) || c[f] < 0) throw new Error(`expected a non-negative integer for ${f} but received ${c[f]}`);
  }
  for (const f of ['batchSize', 'radiusRefreshSteps', 'granularity'] as const) {
    if (!Number.isInteger(c[f]) || c[f] < 1) throw new Error(`expected a positive integer for ${f} but received ${c[f]}`);
  }
  for (const f of ['lr', 'rho', 'rhoMin', 'rhoMax', 'asamRho', 'asamEta'] as const) {
    if (!(c[f] > 0 && Number.isFinite(c[f]))) throw new Error(`expected a positive number for ${f} but received ${c[f]}`);
  }
  if (!(c.minLrRatio >= 0 && c.minLrRatio <= 1)) throw new Error(`expected minLrRatio in [0, 1] but received ${c.minLrRatio}`);
  if (c.rhoMin > c.rhoMax) throw new Error(`rhoMin ${c.rhoMin} must not exceed rhoMax ${c.rhoMax}`);
  if (!(c.minKeepFraction > 0 && c.minKeepFraction <= 1)) throw new Error(`expected minKeepFraction in (0, 1] but received ${c.minKeepFraction}`);
  if (c.saliency === 'taylor' && c.warmupSteps === 0) throw new Error('the Taylor saliency needs training batches: give --steps-warmup > 0, or --saliency bn');
  return c;
}

/** The perturbation settings each method reads; the others leave its result unchanged. */
const PERTURBATION_FIELDS = ['rho', 'rhoMin', 'rhoMax', 'radiusRefreshSteps', 'asamRho', 'asamEta'] as const satisfies readonly (keyof CompressConfig)[];
const PERTURBATION_READ: Record<CompressMethod, readonly string[]> = { adasap: PERTURBATION_FIELDS, sam: ['rho'], 'prune-finetune': [] };

/**
 * Whether two configs give the same result: equal in every field their method
 * reads (a prune-finetune run stays valid when AdaSAP's radius changes).
 */
export function sameResultSettings(a: CompressConfig, b: CompressConfig): boolean {
  const read = (c: CompressConfig) => JSON.stringify(Object.entries(c)
    .filter(([key]) => !(PERTURBATION_FIELDS as readonly string[]).includes(key) || PERTURBATION_READ[c.method].includes(key))
    .sort(([x], [y]) => x.localeCompare(y)));
  return read(a) === read(b);
}
