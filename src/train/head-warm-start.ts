// A warm start of the text side from the pretrained head, before the first
// training step. The image encoder is locked and the hypernetwork's head
// starts at zero (the generated norms are the identity), so at step 0 an
// image's pooled features do not depend on anything that trains: computed
// once for a few thousand unlabelled training images, they let the text
// encoder and the projection learn from thousands of distillation tasks for
// the price of one pass of the encoder. The main run's loop is image-bound
// (about 12 img/s for MobileNet v2 at 160 px on 2 cores), and the text side
// it trains from scratch reaches the head's knowledge slowly.
import { F, keep, noGrad, tensor, tidy, type AdamW, type Tensor } from '../engine/index.js';
import { createLoader, type LoaderSource, type PreprocessSpec } from '../data/index.js';
import { createRng, randomIndex } from '../data/random.js';
import type { HyperClip } from '../models/hyperclip.js';
import type { HeadDistillation } from './distill.js';
import { computePrefix } from './frozen-prefix.js';
import type { TrainReporter } from './reporter.js';
import { warmupCosine } from './schedule.js';
import { optimizerStep } from './train-step.js';

export interface HeadWarmStartConfig {
  /** Optimisation steps on the cached features. */
  steps: number;
  /** Unlabelled training images whose features are cached (one augmented view each). */
  images: number;
  /** Cached images per step. */
  batchSize: number;
  /** Peak learning rate (10% warm-up, cosine to zero). */
  lr: number;
}

export interface HeadWarmStartSetup {
  model: HyperClip;
  distill: HeadDistillation;
  /** Stem and leading blocks the teacher shares with the model (src/train/frozen-prefix.ts). */
  prefixBlocks: number;
  sources: LoaderSource[];
  preprocess: PreprocessSpec;
  /** A fresh optimiser over the run's trainable parameters: the main run's moments start clean. */
  optimizer: AdamW;
  gradClip: number;
  seed: number;
  reporter: TrainReporter;
}

export interface HeadWarmStartResult {
  images: number;
  steps: number;
  /** Mean loss over the first and the last tenth of the steps. */
  firstLoss: number;
  finalLoss: number;
  featureSeconds: number;
  seconds: number;
}

export async function headWarmStart(config: HeadWarmStartConfig, setup: HeadWarmStartSetup): Promise<HeadWarmStartResult> {
  const { model, optimizer, reporter } = setup;
  const started = Date.now();
  const hypernetIdle = model.hypernet === null || [model.hypernet.head.weight, model.hypernet.head.bias!].every((t) => noGrad(() => tidy(() => t.abs().amax().item())) === 0);
  if (!hypernetIdle) throw new Error('distill.warmStart runs before the first step, on an untrained hypernetwork; this model\'s hypernetwork head is not zero (a resumed or initialised run?)');
  const { features, teacherLogits } = await cacheFeatures(config.images, setup);
  const featureSeconds = (Date.now() - started) / 1000;
  reporter.message(`warm start: features of ${features.size(0)} training images cached in ${featureSeconds.toFixed(0)} s; ${config.steps} steps of ${config.batchSize} on them`);
  const rng = createRng(setup.seed ^ 0x3c6ef372);
  const count = features.size(0);
  const losses: number[] = [];
  try {
    reporter.start(config.steps, 0);
    for (let step = 0; step < config.steps; step++) {
      const stepStarted = Date.now();
      optimizer.lr = warmupCosine(step, { lr: config.lr, warmupSteps: Math.max(1, Math.round(config.steps / 10)), totalSteps: config.steps });
      const rows = Array.from({ length: config.batchSize }, () => BigInt(randomIndex(rng, count)));
      const { loss } = optimizerStep(() => {
        const index = tensor(BigInt64Array.from(rows), [rows.length], { dtype: 'int64' });
        return setup.distill.lossOnFeatures(model, features.indexSelect(0, index), teacherLogits.indexSelect(0, index));
      }, optimizer, setup.gradClip);
      if (!Number.isFinite(loss)) throw new Error(`warm start: the loss is ${loss} at step ${step}; lower distill.warmStart.lr`);
      losses.push(loss);
      // Cached images a second: what a warm-start step goes through (no image is decoded or encoded).
      reporter.step(step + 1, { loss, lr: optimizer.lr, imagesPerSecond: (config.batchSize * 1000) / Math.max(1, Date.now() - stepStarted) });
    }
  } finally {
    reporter.stop();
    features.dispose();
    teacherLogits.dispose();
  }
  const tenth = Math.max(1, Math.floor(losses.length / 10));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    images: count, steps: config.steps, firstLoss: mean(losses.slice(0, tenth)), finalLoss: mean(losses.slice(-tenth)),
    featureSeconds, seconds: (Date.now() - started) / 1000,
  };
}

/** Pooled features [N, D] of the model's locked encoder and the teacher's logits [N, 1000], one augmented view per image. */
async function cacheFeatures(images: number, setup: HeadWarmStartSetup): Promise<{ features: Tensor; teacherLogits: Tensor }> {
  const { model, distill, prefixBlocks, reporter } = setup;
  const loader = createLoader({ sources: setup.sources, seed: setup.seed ^ 0x1b873593, shuffle: true, batchSize: 64, preprocess: setup.preprocess });
  const features: Tensor[] = [], logits: Tensor[] = [];
  let cached = 0;
  try {
    for await (const batch of loader) {
      const take = Math.min(batch.size, images - cached);
      const [f, l] = tidy(() => {
        const input = tensor(batch.images.subarray(0, take * 3 * batch.height * batch.width), [take, 3, batch.height, batch.width]);
        const prefix = computePrefix(model, input, prefixBlocks);
        return [noGrad(() => model.imageEncoder.forwardFrom(prefix.prefix, prefix.block)), distill.teacherLogits(prefix)];
      });
      features.push(keep(f!)); logits.push(keep(l!));
      cached += take;
      if (cached >= images || Math.floor(cached / 1000) > Math.floor((cached - take) / 1000)) reporter.message(`warm start: features of ${cached}/${images} images`);
      if (cached >= images) break;
    }
  } finally {
    await loader.close();
  }
  if (cached < images) throw new Error(`warm start: the training data holds ${cached} images, fewer than distill.warmStart.images = ${images}`);
  const joined = { features: keep(F.cat(features)), teacherLogits: keep(F.cat(logits)) };
  for (const t of [...features, ...logits]) t.dispose();
  return joined;
}
