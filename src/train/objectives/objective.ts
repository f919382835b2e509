// What a training run optimises, as one strategy the trainer's loop calls
// without knowing which: the contrastive objective (HyperCLIP / SigLIP, with
// optional head distillation) or the classify objective (a label head's
// cross-entropy). The loop owns the schedule, logging, checkpoints and the
// run folder; the objective owns what trains, the loss and what the run
// leaves behind.
import type { AdamW, Device, Module, Tensor } from '../../engine/index.js';
import type { Batch, FeatureStoreStats, FixedViews, LoaderSource, PreprocessSpec } from '../../data/index.js';
import type { Tokenizer } from '../../data/tokenizer/index.js';
import type { HyperClip } from '../../models/index.js';
import type { Parallelism } from '../distributed.js';
import type { TrainReporter } from '../reporter.js';
import type { ValidationResult } from '../validate.js';

/** The per-batch part of an objective: all an optimisation step needs (the benches use it alone). */
export interface BatchLoss {
  /** The loss of this process's batch, ready for backward; called inside tidy(). */
  loss(batch: Batch): Tensor;
  /** After backward: combines the gradients of the ranks of a data-parallel group; nothing in one process. */
  reduceGradients(params: Tensor[]): void;
  /** After the last step: releases what lives across steps (gradient hooks; the feature cache writes its last chunk); optional, and a second call does nothing. */
  close?(): void;
}

export interface ObjectiveValidation {
  /** The fields of the metrics line { event: 'validation', step, ... }. */
  fields: Record<string, number>;
  /** What the summary and the saved model report; null when they report none. */
  result: ValidationResult | null;
}

export interface TrainingObjective extends BatchLoss {
  /** The module that trains: what the checkpoint holds and what moves between devices. */
  readonly trained: Module;
  /** The optimiser over the trained module's unfrozen parameters. */
  readonly optimizer: AdamW;
  /** Where the run's result lives once it has finished: a model folder, or a checkpoint. */
  readonly output: string;
  /** Figures logged beside the loss in each train line of metrics.jsonl. */
  logFields(): Record<string, number>;
  /**
   * Validation on rank 0, with the trained module on the CPU, 'during' the run
   * or at its 'end'; null when there is nothing to measure.
   */
  validate(at: 'during' | 'end'): Promise<ObjectiveValidation | null>;
  /** After the last step, on rank 0: writes `output` where the checkpoint is not already it. */
  save(validation: ValidationResult | null): void;
  /** Fixed views for the loader (and the store of features it need not decode); absent: fresh augmentation at every draw. */
  readonly fixedViews?: FixedViews;
  /** What the feature cache did this run; null (or absent) without one. */
  featureCacheStats?(): FeatureStoreStats | null;
  /**
   * Before the first step of a run that starts from step 0: what the recipe
   * learns before its loop (distill.warmStart), as the fields of a metrics
   * line; null (or absent) when it asks for nothing.
   */
  warmStart?(): Promise<Record<string, number> | null>;
  /**
   * The objective's own random state (the distillation's task draws) as
   * fields of each checkpoint's extra; absent: it has none.
   */
  checkpointExtra?(): Record<string, unknown>;
  /** On resume, before the first step: goes on from the random state that checkpointExtra left in the checkpoint's extra. */
  resumeFrom?(extra: Record<string, unknown>): void;
}

/** What the trainer hands an objective's setup. */
export interface ObjectiveSetup {
  model: HyperClip;
  tokenizer: Tokenizer;
  /** The training mixture, before sharding over ranks. */
  sources: LoaderSource[];
  parallel: Parallelism;
  device: Device;
  reporter: TrainReporter;
  outDir: string;
  checkpointFile: string;
  /** The loader's training preprocessing (a feature cache is keyed by it). */
  preprocess: PreprocessSpec;
}

/** Neither the classify head nor same-label positives have a data-parallel loss yet. */
export const ONE_PROCESS_ONLY = 'the classify objective and same-label positives train in one process for now: drop --nproc-per-node for this recipe';
