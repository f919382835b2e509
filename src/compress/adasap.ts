// Compressing a trained model to a FLOPs target (AdaSAP, Bair et al. 2023,
// and its two baselines), as a list of steps:
//   1. warm-up on the model's pre-training loss, collecting channel saliency
//      (adasap: SAM whose per-channel radius grows as importance falls, so
//      the channels about to go are already the ones the loss is flat in;
//      sam: plain SAM; prune-finetune: plain steps);
//   2. prune whole channels to the target (channel-plan, channel-surgery);
//   3. fine-tune the smaller model (adasap: ASAM; sam: SAM; prune-finetune:
//      plain steps).
import { createLoader, trainPreprocess, type DataLoader } from '../data/index.js';
import { manualSeed } from '../engine/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { HyperClip } from '../models/index.js';
import { loaderSources } from '../train/data-sources.js';
import { resolveTrainConfig, type TrainConfig } from '../train/recipes.js';
import { warmupCosine } from '../train/schedule.js';
import { createOptimizer } from '../train/optimizer.js';
import type { CompressConfig } from './adasap-recipe.js';
import { channelGroups } from './channel-groups.js';
import { ChannelRadii } from './channel-radii.js';
import { planChannels } from './channel-plan.js';
import { pruneChannels } from './channel-surgery.js';
import { compressionTraining } from './compress-loss.js';
import { classifierCost } from './flops.js';
import { optimizationStep, type Perturbation } from './sam.js';
import { TaylorSaliency, bnScaleSaliency } from './saliency.js';

export interface CompressReporter {
  phase(name: 'warm-up' | 'fine-tune', steps: number): void;
  step(step: number, loss: number): void;
  done(): void;
  message(text: string): void;
}

export interface CompressSummary {
  method: string;
  flopsRatio: number;
  denseMacs: number;
  macs: number;
  denseParams: number;
  params: number;
  /** Kept channels per group. */
  widths: Record<string, number>;
  warmupLoss: number;
  finetuneLoss: number;
  seconds: number;
  recipe: string;
}

/** The training recipe a model folder was trained with (compressed folders pass theirs on). */
export function recipeOf(bundle: Bundle): TrainConfig {
  const name = bundle.extra.recipe;
  if (typeof name !== 'string') throw new Error(`${bundle.dir} does not name its training recipe (extra.recipe in config.json): cannot rebuild its training mixture`);
  return resolveTrainConfig(name, undefined);
}

/** The model after the warm-up, with the saliency it gathered. */
export interface WarmedModel {
  model: HyperClip;
  scores: Map<string, Float32Array>;
  warmupLoss: number;
  recipe: TrainConfig;
  dense: { macs: number; params: number };
  seconds: number;
}

/** Phase 1: warm-up on the pre-training loss (method-specific), gathering channel saliency. Trains bundle.model in place. */
export async function warmUp(bundle: Bundle, config: CompressConfig, reporter: CompressReporter): Promise<WarmedModel> {
  const started = Date.now();
  const trained = recipeOf(bundle);
  const recipe = config.data === undefined ? trained : { ...trained, data: [config.data] };
  const groups = channelGroups(bundle.model); // throws for an encoder without prunable channels, before any work
  if (config.batchSize % (bundle.config.hypernet?.groupSize ?? 1) !== 0) {
    throw new Error(`batch size ${config.batchSize} is not divisible by the model's task group size ${bundle.config.hypernet?.groupSize}`);
  }
  manualSeed(config.seed);
  const dense = classifierCost(bundle.model);
  const model = bundle.model.train();
  const saliency = new TaylorSaliency(groups);
  const radii = config.method === 'adasap' ? new ChannelRadii(model, groups, config) : null;
  reporter.phase('warm-up', config.warmupSteps);
  try {
    const warmupLoss = await runPhase(model, bundle, recipe, config, config.warmupSteps, config.seed, reporter, (step) => {
      if (config.method === 'prune-finetune') return null;
      if (radii === null) return { kind: 'sam', rho: config.rho };
      if (step % config.radiusRefreshSteps === 0) radii.update(saliency.count > 0 ? saliency.scores() : bnScaleSaliency(model, groups));
      return { kind: 'channel', rho: config.rho, multipliers: radii.multipliers };
    }, () => saliency.accumulate(model));
    const scores = config.saliency === 'taylor' ? saliency.scores() : bnScaleSaliency(model, groups);
    return { model, scores, warmupLoss, recipe, dense: { macs: dense.macs, params: dense.params }, seconds: (Date.now() - started) / 1000 };
  } finally {
    reporter.done();
    radii?.dispose();
  }
}

/** Phases 2 and 3: prune a warmed model to config.flopsRatio (leaving it intact) and fine-tune the pruned copy. */
export async function pruneAndFinetune(bundle: Bundle, warmed: WarmedModel, config: CompressConfig, reporter: CompressReporter): Promise<{ model: HyperClip; summary: CompressSummary }> {
  const started = Date.now();
  const plan = planChannels(warmed.model, warmed.scores, { flopsRatio: config.flopsRatio, granularity: config.granularity, minKeepFraction: config.minKeepFraction });
  const pruned = pruneChannels(warmed.model, plan.keep).train();
  reporter.message(`pruned to ${(plan.macs / plan.denseMacs).toFixed(3)} of the FLOPs (${plan.macs} of ${plan.denseMacs} multiply-adds)`);
  reporter.phase('fine-tune', config.finetuneSteps);
  let finetuneLoss: number;
  try {
    // Its own data order (seed + 1000), the same for every target, so targets compare on equal batches.
    finetuneLoss = await runPhase(pruned, bundle, warmed.recipe, config, config.finetuneSteps, config.seed + 1000, reporter, () =>
      config.method === 'prune-finetune' ? null
        : config.method === 'sam' ? { kind: 'sam', rho: config.rho } : { kind: 'asam', rho: config.asamRho, eta: config.asamEta });
  } finally {
    reporter.done();
  }
  pruned.eval();
  const cost = classifierCost(pruned);
  const widths = Object.fromEntries(channelGroups(pruned).map((g) => [g.id, g.channels]));
  return {
    model: pruned,
    summary: {
      method: config.method, flopsRatio: config.flopsRatio, denseMacs: warmed.dense.macs, macs: cost.macs, denseParams: warmed.dense.params,
      params: cost.params, widths, warmupLoss: warmed.warmupLoss, finetuneLoss, seconds: warmed.seconds + (Date.now() - started) / 1000,
      recipe: warmed.recipe.name,
    },
  };
}

/** All three phases. */
export async function compress(bundle: Bundle, config: CompressConfig, reporter: CompressReporter): Promise<{ model: HyperClip; summary: CompressSummary }> {
  const warmed = await warmUp(bundle, config, reporter);
  return pruneAndFinetune(bundle, warmed, config, reporter);
}

/** Runs `steps` optimisation steps on a fresh optimizer; returns the mean loss of the last quarter (NaN for 0 steps). */
async function runPhase(model: HyperClip, bundle: Bundle, recipe: TrainConfig, config: CompressConfig, steps: number, seed: number,
  reporter: CompressReporter, perturbationAt: (step: number) => Perturbation | null, afterGradients?: () => void): Promise<number> {
  if (steps === 0) return NaN;
  const loader = createLoader({
    sources: loaderSources(recipe.data), batchSize: config.batchSize, seed, shuffle: true, dropLast: true,
    preprocess: trainPreprocess(bundle.config.image.imageSize, { scale: recipe.cropScale }),
  });
  try {
    return await stepsOn(loader, model, bundle, recipe, config, steps, seed, reporter, perturbationAt, afterGradients);
  } finally {
    await loader.close();
  }
}

async function stepsOn(loader: DataLoader, model: HyperClip, bundle: Bundle, recipe: TrainConfig, config: CompressConfig, steps: number, seed: number,
  reporter: CompressReporter, perturbationAt: (step: number) => Perturbation | null, afterGradients?: () => void): Promise<number> {
  const batches = loader[Symbol.asyncIterator]();
  // The recipe's loss; the image encoder trains from its first prunable block on (src/compress/compress-loss.ts).
  const training = compressionTraining(model, recipe, bundle.tokenizer, seed);
  const optimizer = createOptimizer(model, { ...training.recipe, lr: config.lr });
  reporter.message(`frozen: ${training.recipe.freeze!.length === 0 ? 'nothing' : training.recipe.freeze!.join(', ')}; ${training.params.length} parameter tensors train` +
    (training.prefixBlocks === null ? '' : `; the stem and ${training.prefixBlocks} blocks run once per batch without gradients`) +
    (recipe.distill === undefined ? '' : `; distillation from ${recipe.distill.teacher} (weight ${recipe.distill.weight})`));
  const ctx = { model, optimizer, tokenizer: bundle.tokenizer, params: training.params, gradClip: recipe.gradClip, prepare: training.prepare };
  const tail: number[] = [];
  for (let step = 0; step < steps; step++) {
    const next = await batches.next();
    if (next.done) throw new Error(`the training data ran out at step ${step} (${loader.skips.summary()})`);
    optimizer.lr = warmupCosine(step, { lr: config.lr, warmupSteps: config.lrWarmupSteps, totalSteps: steps, minLrRatio: config.minLrRatio });
    const { loss } = optimizationStep(ctx, next.value, perturbationAt(step), afterGradients);
    if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${step}: lower --lr or the SAM radius`);
    if (step >= steps - Math.max(1, Math.floor(steps / 4))) tail.push(loss);
    reporter.step(step + 1, loss);
  }
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}
