// The contrastive objective: the whole model trains on image-caption pairs
// (optionally with the pretrained head as a teacher), is validated zero-shot
// and by retrieval, and leaves a model folder that eval and generate load.
import path from 'node:path';
import type { AdamW, Module, Tensor } from '../../engine/index.js';
import { evalPreprocess, type Batch, type FeatureStoreStats, type FixedViews, type LoaderSource, type PreprocessSpec } from '../../data/index.js';
import { saveBundle, type Bundle } from '../../bundle/bundle.js';
import { pretrainedFile } from '../../models/import/pretrained-ref.js';
import { createDistillation } from '../distill-setup.js';
import { frozenPrefixBlocks } from '../frozen-prefix.js';
import { headWarmStart } from '../head-warm-start.js';
import { openPrefixCache, type PrefixCache } from '../prefix-cache.js';
import { createOptimizer } from '../optimizer.js';
import type { OverlappedReducer } from '../overlapped-reducer.js';
import type { TrainConfig } from '../recipes.js';
import type { TrainReporter } from '../reporter.js';
import { validate, validationFields, type ValidationResult } from '../validate.js';
import { ContrastiveLoss, overlappedReduction } from './contrastive-loss.js';
import { ONE_PROCESS_ONLY, type ObjectiveSetup, type ObjectiveValidation, type TrainingObjective } from './objective.js';

export class ContrastiveObjective implements TrainingObjective {
  readonly output: string;
  private readonly bundle: Bundle;
  private closed = false;

  constructor(
    private readonly batchLoss: ContrastiveLoss, readonly optimizer: AdamW,
    private readonly run: { config: TrainConfig; reporter: TrainReporter; outDir: string; sources: LoaderSource[]; preprocess: PreprocessSpec },
  ) {
    const { model, tokenizer } = batchLoss.parts;
    this.bundle = { dir: run.outDir, model, config: model.config, tokenizer, preprocess: evalPreprocess(model.config.image.imageSize), extra: {} };
    this.output = path.join(run.outDir, 'model');
  }

  get trained(): Module {
    return this.batchLoss.parts.model;
  }

  loss(batch: Batch): Tensor {
    return this.batchLoss.loss(batch);
  }

  get fixedViews(): FixedViews | undefined {
    return this.batchLoss.parts.prefixCache?.fixedViews;
  }

  featureCacheStats(): FeatureStoreStats | null {
    const cache = this.batchLoss.parts.prefixCache;
    return cache == null ? null : { ...cache.stats };
  }

  /** The overlapped reduction's hooks removed, the feature cache's last chunk written; a second call does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batchLoss.close();
    const cache = this.batchLoss.parts.prefixCache;
    if (cache == null) return;
    cache.close();
    this.run.reporter.message(cache.store.summary());
  }

  /** The text side learns the teacher's classifiers on cached features before the first step (src/train/head-warm-start.ts). */
  async warmStart(): Promise<Record<string, number> | null> {
    const { config, reporter, sources, preprocess } = this.run;
    const settings = config.distill?.warmStart;
    const { model, distill, prefixBlocks } = this.batchLoss.parts;
    if (settings === undefined || distill == null || prefixBlocks == null) return null;
    const result = await headWarmStart(settings, {
      model, distill, prefixBlocks, sources, preprocess, optimizer: createOptimizer(model, config), gradClip: config.gradClip, seed: config.seed, reporter,
    });
    reporter.message(`warm start: ${result.steps} steps on ${result.images} cached images in ${result.seconds.toFixed(0)} s, loss ${result.firstLoss.toFixed(3)} -> ${result.finalLoss.toFixed(3)}`);
    return { ...result };
  }

  /** The distillation's task draws so far (warm start included): a resumed run skips as many to draw the same tasks. */
  checkpointExtra(): Record<string, unknown> {
    const { distill } = this.batchLoss.parts;
    return distill == null ? {} : { distillDraws: distill.draws };
  }

  /** A checkpoint from before distillDraws was saved resumes all the same, with other tasks than the uninterrupted run's. */
  resumeFrom(extra: Record<string, unknown>): void {
    const { distill } = this.batchLoss.parts;
    if (distill == null) return;
    const draws = extra.distillDraws;
    if (typeof draws === 'number' && Number.isInteger(draws) && draws >= 0) distill.skipDraws(draws);
    else this.run.reporter.message('the checkpoint holds no distillation draws (written before they were saved): the resumed run draws other distillation tasks than an uninterrupted run would');
  }

  reduceGradients(params: Tensor[]): void {
    this.batchLoss.reduceGradients(params);
  }

  logFields(): Record<string, number> {
    const { model } = this.batchLoss.parts;
    return { logitScale: Math.exp(model.logitScale.item()), logitBias: model.logitBias.item() };
  }

  /** During the run every validation asked for; at the end only when CIFAR-10, retrieval, held-out names or WordNet groups are asked for. */
  async validate(at: 'during' | 'end'): Promise<ObjectiveValidation | null> {
    const { config, reporter } = this.run;
    const limits = config.validation;
    if (at === 'end' && !(limits.cifar10Limit > 0 || limits.retrievalLimit > 0 || (limits.heldOutLimit ?? 0) > 0 || (limits.groupsLimit ?? 0) > 0)) return null;
    const result = await validate(this.bundle, config, reporter);
    return { fields: validationFields(result), result };
  }

  save(validation: ValidationResult | null): void {
    const { config } = this.run;
    const { model, tokenizer } = this.batchLoss.parts;
    saveBundle(this.output, model, tokenizer, { recipe: config.name, steps: config.steps, seed: config.seed, validation }, { pretrained: lockedPretrainedPart(config) });
  }
}

/** The optimiser first: it freezes parameters, and the frozen prefix (shared with a distillation teacher) is what it left frozen. */
export function createContrastiveObjective(config: TrainConfig, setup: ObjectiveSetup): ContrastiveObjective {
  const { model, tokenizer, parallel, device, reporter } = setup;
  if (parallel.group !== null && config.positives === 'same-label') throw new Error(ONE_PROCESS_ONLY);
  const optimizer = createOptimizer(model, config); // before the run folder: a bad freeze list leaves nothing behind
  const prefixBlocks = frozenPrefixBlocks(model);
  if (prefixBlocks !== null && prefixBlocks > 0) reporter.message(`frozen prefix: the stem and ${prefixBlocks} blocks run once per batch without gradients`);
  const distill = config.distill === undefined ? null : createDistillation(config.distill, model, prefixBlocks, tokenizer, config.seed);
  if (distill !== null && (parallel.group !== null || device !== 'cpu')) {
    throw new Error('distillation trains in one process on the CPU for now: drop --nproc-per-node and --device for this recipe');
  }
  const overlapped = config.overlapAllReduce === true ? overlappedFor(setup, optimizer) : null;
  const prefixCache = config.featureCache === undefined ? null : featureCache(config, setup, prefixBlocks);
  const batchLoss = new ContrastiveLoss({ model, tokenizer, positives: config.positives, prefixBlocks, prefixCache, distill, group: parallel.group, overlapped });
  return new ContrastiveObjective(batchLoss, optimizer, { config, reporter, outDir: setup.outDir, sources: setup.sources, preprocess: setup.preprocess });
}

/** overlapAllReduce takes effect only in a data-parallel run on the CPU: anywhere else it is an error, not ignored. */
function overlappedFor({ model, parallel: { group }, device }: ObjectiveSetup, optimizer: AdamW): OverlappedReducer {
  if (group === null) {
    throw new Error('overlapAllReduce (--overlap-allreduce) overlaps the ranks\' gradient all-reduce with backward, and this run is one process: ' +
      'add --nproc-per-node N (or launch with torchrun), or drop it');
  }
  if (device !== 'cpu') {
    throw new Error(`overlapAllReduce (--overlap-allreduce) runs its gradient hooks in a CPU backward only, not on ${device}: drop it for this run`);
  }
  return overlappedReduction(model, group, optimizer.allParams());
}

/** The frozen prefix's feature cache: one process, and a prefix to cache. */
function featureCache(config: TrainConfig, setup: ObjectiveSetup, prefixBlocks: number | null): PrefixCache {
  if (setup.parallel.group !== null) throw new Error('featureCache trains in one process for now: drop --nproc-per-node, or drop featureCache');
  if (prefixBlocks === null) {
    throw new Error('featureCache stores the frozen prefix of the image encoder, and this recipe freezes none: freeze its stem and leading blocks (e.g. "freeze": ["imageEncoder"])');
  }
  const depth = config.featureCache!.blocks ?? prefixBlocks;
  if (depth > prefixBlocks) throw new Error(`featureCache.blocks is ${depth}, but only the stem and ${prefixBlocks} blocks are frozen: give at most ${prefixBlocks}`);
  const cache = openPrefixCache(config.featureCache!, setup.model, depth, { preprocess: setup.preprocess, initFrom: config.init?.from });
  setup.reporter.message(`feature cache: the stem and ${depth} blocks, ${cache.views} fixed views per image, ${cache.store.stats.found} stored in ${cache.store.dir}` +
    (cache.store.stats.damagedChunks > 0 ? ` (${cache.store.stats.damagedChunks} damaged chunk(s) removed; their views are computed again)` : ''));
  return cache;
}

/** A pretrained image encoder that stayed frozen is saved as a reference to its file, not as weights (src/models/import/pretrained-ref.ts). */
function lockedPretrainedPart(config: TrainConfig): { part: string; from: string } | undefined {
  const init = config.init;
  if (init === undefined || pretrainedFile(init.from) === null || !init.parts.includes('imageEncoder')) return undefined;
  return (config.freeze ?? []).includes('imageEncoder') ? { part: 'imageEncoder', from: init.from } : undefined;
}
