// Compressing a trained model to a FLOPs target (AdaSAP, Bair et al. 2023,
// and its two baselines), as a list of steps:
//   1. warm-up on the model's pre-training loss, collecting channel saliency
//      (adasap: SAM whose per-channel radius grows as importance falls, so
//      the channels about to go are already the ones the loss is flat in;
//      sam: plain SAM; prune-finetune: plain steps);
//   2. prune whole channels to the target (channel-plan, channel-surgery),
//      then re-solve the layers that read the pruned channels to reproduce
//      the dense model on a few training images (reconstruct; optional);
//   3. fine-tune the smaller model (adasap: ASAM; sam: SAM; prune-finetune:
//      plain steps).
// With a checkpoint folder both training phases save their state every few
// steps and a run resumes from it exactly (src/compress/compress-checkpoint.ts).
import { createLoader, evalPreprocess, trainPreprocess } from '../data/index.js';
import { getRngState, manualSeed, setRngState, tensor, type Tensor } from '../engine/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { HyperClip } from '../models/index.js';
import { loaderSources } from '../train/data-sources.js';
import { resolveTrainConfig, type TrainConfig } from '../train/recipes.js';
import { warmupCosine } from '../train/schedule.js';
import { createOptimizer } from '../train/optimizer.js';
import type { CompressConfig } from './adasap-recipe.js';
import { channelGroups } from './channel-groups.js';
import { ChannelRadii } from './channel-radii.js';
import { CompressCheckpoints, prefixed, unprefixed, type CompressCheckpointOption, type PhaseCheckpoint, type PhaseExtras, type PhaseName } from './compress-checkpoint.js';
import { planChannels } from './channel-plan.js';
import { reconstructPruned } from './reconstruct.js';
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
  /** The random state the warm-up ended with: every fine-tune starts from it. */
  rngState: Uint8Array;
}

export interface CompressPhaseOptions {
  /** Save each phase every few steps into this folder, and resume from what it holds. */
  checkpoint?: CompressCheckpointOption;
}

/**
 * Phase 1: warm-up on the pre-training loss (method-specific), gathering channel saliency. Trains bundle.model in place.
 * With a checkpoint folder holding a finished warm-up, its model and scores are read instead; one holding a warm-up
 * under way continues it.
 */
export async function warmUp(bundle: Bundle, config: CompressConfig, reporter: CompressReporter, options: CompressPhaseOptions = {}): Promise<WarmedModel> {
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
  const base = { model, recipe, dense: { macs: dense.macs, params: dense.params } };
  const checkpoints = options.checkpoint === undefined ? null : new CompressCheckpoints(options.checkpoint, bundle.config);
  const done = checkpoints?.loadWarmed(model, config) ?? null;
  if (done !== null) {
    reporter.message(`warm-up already done: model and saliency from ${checkpoints!.warmedFile}`);
    return { ...base, ...done };
  }
  const saliency = new TaylorSaliency(groups);
  const radii = config.method === 'adasap' ? new ChannelRadii(model, groups, config) : null;
  let radiusScores: Map<string, Float32Array> | null = null; // what the radii were last set from
  reporter.phase('warm-up', config.warmupSteps);
  try {
    const { loss: warmupLoss, seconds } = await runPhase(model, bundle, recipe, config, reporter, {
      name: 'warm-up', steps: config.warmupSteps, seed: config.seed, started,
      perturbationAt: (step) => {
        if (config.method === 'prune-finetune') return null;
        if (radii === null) return { kind: 'sam', rho: config.rho };
        if (step % config.radiusRefreshSteps === 0) {
          radiusScores = saliency.count > 0 ? saliency.scores() : bnScaleSaliency(model, groups);
          radii.update(radiusScores);
        }
        return { kind: 'channel', rho: config.rho, multipliers: radii.multipliers };
      },
      afterGradients: () => saliency.accumulate(model),
      checkpoint: checkpoints?.phase('warm-up', config),
      extras: {
        save: () => {
          const { sums, count } = saliency.state();
          return { arrays: new Map([...prefixed('saliency', sums), ...prefixed('radii', radiusScores ?? new Map())]), numbers: { saliencyCount: count } };
        },
        restore: ({ arrays, numbers }) => {
          saliency.restore({ sums: unprefixed('saliency', arrays), count: numbers.saliencyCount! });
          const saved = unprefixed('radii', arrays);
          if (radii !== null && saved.size > 0) radii.update(radiusScores = saved);
        },
      },
    });
    const scores = config.saliency === 'taylor' ? saliency.scores() : bnScaleSaliency(model, groups);
    checkpoints?.saveWarmed(model, config, { scores, warmupLoss, seconds });
    return { ...base, scores, warmupLoss, seconds, rngState: getRngState() };
  } finally {
    reporter.done();
    radii?.dispose();
  }
}

/**
 * Phases 2 and 3: prune a warmed model to config.flopsRatio (leaving it intact) and fine-tune the pruned copy.
 * With a checkpoint folder, the pruned model is planned again from the warmed one (the plan is deterministic) and a
 * fine-tune under way continues from its checkpoint.
 */
export async function pruneAndFinetune(bundle: Bundle, warmed: WarmedModel, config: CompressConfig, reporter: CompressReporter,
  options: CompressPhaseOptions = {}): Promise<{ model: HyperClip; summary: CompressSummary }> {
  const started = Date.now();
  // Every target starts from the random state the warm-up left, so none depends on the targets fine-tuned before it.
  setRngState(warmed.rngState);
  const plan = planChannels(warmed.model, warmed.scores, { flopsRatio: config.flopsRatio, granularity: config.granularity, minKeepFraction: config.minKeepFraction,
    saliencyScale: config.saliencyScale });
  const pruned = pruneChannels(warmed.model, plan.keep).train();
  reporter.message(`pruned to ${(plan.macs / plan.denseMacs).toFixed(3)} of the FLOPs (${plan.macs} of ${plan.denseMacs} multiply-adds)`);
  if (config.calibrationImages > 0) {
    const images = await calibrationImages(bundle, warmed.recipe, config);
    try {
      const { layers } = reconstructPruned(warmed.model, pruned, images);
      const mean = (k: 'before' | 'after') => layers.reduce((s, l) => s + l[k], 0) / layers.length;
      reporter.message(`reconstructed ${layers.length} layers on ${images.size(0)} images: mean relative error ${mean('before').toFixed(3)} -> ${mean('after').toFixed(3)}`);
    } finally {
      images.dispose();
    }
  }
  const checkpoints = options.checkpoint === undefined ? null : new CompressCheckpoints(options.checkpoint, bundle.config);
  reporter.phase('fine-tune', config.finetuneSteps);
  let finetune: PhaseResult;
  try {
    // Its own data order (seed + 1000), the same for every target, so targets compare on equal batches.
    finetune = await runPhase(pruned, bundle, warmed.recipe, config, reporter, {
      name: 'fine-tune', steps: config.finetuneSteps, seed: config.seed + 1000, started, checkpoint: checkpoints?.phase('fine-tune', config),
      perturbationAt: () => config.method === 'prune-finetune' ? null
        : config.method === 'sam' ? { kind: 'sam', rho: config.rho } : { kind: 'asam', rho: config.asamRho, eta: config.asamEta },
    });
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
      params: cost.params, widths, warmupLoss: warmed.warmupLoss, finetuneLoss: finetune.loss, seconds: warmed.seconds + finetune.seconds,
      recipe: warmed.recipe.name,
    },
  };
}

/** config.calibrationImages distinct images of the recipe's training mixture, eval-preprocessed, in a fixed draw: [N, 3, H, W]. */
async function calibrationImages(bundle: Bundle, recipe: TrainConfig, config: CompressConfig): Promise<Tensor> {
  const size = bundle.config.image.imageSize;
  const loader = createLoader({
    sources: loaderSources(recipe.data), batchSize: Math.min(config.batchSize, config.calibrationImages), seed: config.seed + 2000, shuffle: true, epochs: 1, dropLast: false,
    preprocess: evalPreprocess(size),
  });
  const data = new Float32Array(config.calibrationImages * 3 * size * size);
  let count = 0;
  try {
    for await (const batch of loader) {
      const take = Math.min(batch.size, config.calibrationImages - count);
      data.set(batch.images.subarray(0, take * 3 * size * size), count * 3 * size * size);
      count += take;
      if (count === config.calibrationImages) break;
    }
  } finally {
    await loader.close();
  }
  if (count < config.calibrationImages) throw new Error(`the training data holds only ${count} images, fewer than the ${config.calibrationImages} calibration images asked for: pass --calibration-images ${count} or fewer (0: no reconstruction)`);
  return tensor(data, [count, 3, size, size]);
}

/** All three phases. */
export async function compress(bundle: Bundle, config: CompressConfig, reporter: CompressReporter, options: CompressPhaseOptions = {}): Promise<{ model: HyperClip; summary: CompressSummary }> {
  const warmed = await warmUp(bundle, config, reporter, options);
  return pruneAndFinetune(bundle, warmed, config, reporter, options);
}

interface Phase {
  name: PhaseName;
  steps: number;
  /** Seeds the data order and the distillation's task draws. */
  seed: number;
  /** Date.now() when the phase began in this process. */
  started: number;
  perturbationAt: (step: number) => Perturbation | null;
  afterGradients?: () => void;
  checkpoint?: PhaseCheckpoint;
  /** What the phase keeps in its checkpoint beside model and optimiser. */
  extras?: { save(): PhaseExtras; restore(extras: PhaseExtras): void };
}

/** The mean loss of the last quarter (NaN for 0 steps) and the seconds the phase took in all processes together. */
interface PhaseResult { loss: number; seconds: number }

/** Runs the phase's optimisation steps on a fresh optimizer, or on the one its checkpoint restores. */
async function runPhase(model: HyperClip, bundle: Bundle, recipe: TrainConfig, config: CompressConfig, reporter: CompressReporter, phase: Phase): Promise<PhaseResult> {
  const { steps, checkpoint } = phase;
  const secondsHere = () => (Date.now() - phase.started) / 1000;
  if (steps === 0) return { loss: NaN, seconds: secondsHere() };
  // The recipe's loss; the image encoder trains from its first prunable block on (src/compress/compress-loss.ts).
  const training = compressionTraining(model, recipe, bundle.tokenizer, phase.seed);
  const optimizer = createOptimizer(model, { ...training.recipe, lr: config.lr });
  reporter.message(`frozen: ${training.recipe.freeze!.length === 0 ? 'nothing' : training.recipe.freeze!.join(', ')}; ${training.params.length} parameter tensors train` +
    (training.prefixBlocks === null ? '' : `; the stem and ${training.prefixBlocks} blocks run once per batch without gradients`) +
    (recipe.distill === undefined ? '' : `; distillation from ${recipe.distill.teacher} (weight ${recipe.distill.weight})`));
  // After everything that draws random numbers while it is built: the checkpoint's random state is the one its next step saw.
  const resumed = checkpoint?.resume(model, optimizer) ?? null;
  if (resumed !== null) {
    training.distill?.skipDraws(resumed.distillDraws);
    phase.extras?.restore(resumed.extras);
    reporter.message(`resuming ${phase.name} at step ${resumed.step} of ${steps} (${checkpoint!.file})`);
  }
  const secondsSoFar = () => (resumed?.seconds ?? 0) + secondsHere();
  const loader = createLoader({
    sources: loaderSources(recipe.data), batchSize: config.batchSize, seed: phase.seed, shuffle: true, dropLast: true,
    preprocess: trainPreprocess(bundle.config.image.imageSize, { scale: recipe.cropScale }), state: resumed?.dataState,
  });
  try {
    const batches = loader[Symbol.asyncIterator]();
    const ctx = { model, optimizer, tokenizer: bundle.tokenizer, params: training.params, gradClip: recipe.gradClip, prepare: training.prepare };
    const tail = resumed?.tail ?? [];
    for (let step = resumed?.step ?? 0; step < steps; step++) {
      const next = await batches.next();
      if (next.done) throw new Error(`the training data ran out at step ${step} (${loader.skips.summary()})`);
      optimizer.lr = warmupCosine(step, { lr: config.lr, warmupSteps: config.lrWarmupSteps, totalSteps: steps, minLrRatio: config.minLrRatio });
      const { loss } = optimizationStep(ctx, next.value, phase.perturbationAt(step), phase.afterGradients);
      if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${step}: lower --lr or the SAM radius`);
      if (step >= steps - Math.max(1, Math.floor(steps / 4))) tail.push(loss);
      reporter.step(step + 1, loss);
      if (checkpoint?.due(step + 1, steps)) {
        checkpoint.save(model, optimizer, {
          step: step + 1, dataState: loader.state(), tail, seconds: secondsSoFar(), distillDraws: training.distill?.draws ?? 0,
          extras: phase.extras?.save() ?? { arrays: new Map(), numbers: {} },
        });
      }
    }
    return { loss: tail.reduce((a, b) => a + b, 0) / tail.length, seconds: secondsSoFar() };
  } finally {
    await loader.close();
  }
}
