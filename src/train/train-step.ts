// One optimisation step, whatever the objective (and the warm start's steps
// on cached features): its loss, backward, the ranks' gradients combined, the
// joint norm clipped, the update.
import { clipGradNorm, tidy, type AdamW, type ProcessGroup, type Tensor } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import type { HyperClip } from '../models/index.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import { ContrastiveLoss } from './objectives/contrastive-loss.js';
import type { OverlappedReducer } from './overlapped-reducer.js';
import type { BatchLoss } from './objectives/objective.js';

export interface StepResult { loss: number; gradNorm: number }

/**
 * The update from one loss: backward, the gradients combined across ranks
 * (before anything can stop a rank, so that every rank joins the collective),
 * the joint norm clipped, the step. A non-finite loss updates nothing and its
 * gradients are dropped; the caller decides what stops (the trainer: at the
 * last good checkpoint; the warm start: with its own message).
 */
export function optimizerStep(loss: () => Tensor, optimizer: AdamW, gradClip: number, reduceGradients?: (params: Tensor[]) => void): StepResult {
  const value = tidy(() => {
    const t = loss();
    t.backward();
    return t.item();
  });
  const params = optimizer.allParams();
  reduceGradients?.(params);
  if (!Number.isFinite(value)) {
    optimizer.zeroGrad();
    return { loss: value, gradNorm: NaN };
  }
  const gradNorm = clipGradNorm(params, gradClip);
  optimizer.step();
  optimizer.zeroGrad();
  return { loss: value, gradNorm };
}

/** A non-finite loss updates nothing: the trainer stops at the last good checkpoint (also used by the benches). */
export function trainStep(objective: BatchLoss, optimizer: AdamW, gradClip: number, batch: Batch): StepResult {
  return optimizerStep(() => objective.loss(batch), optimizer, gradClip, (params) => objective.reduceGradients(params));
}

export interface DataParallelStepContext {
  model: HyperClip;
  optimizer: AdamW;
  tokenizer: Tokenizer;
  gradClip: number;
  group: ProcessGroup;
  /** The gradient all-reduce overlapped with backward (overlappedReduction); absent: after backward. */
  overlapped?: OverlappedReducer | null;
  /** For tests: one process standing in for this many ranks' batch-norm statistics. */
  imageChunks?: number;
}

export interface DataParallelStepResult extends StepResult { commSeconds: number }

/** The trainer's contrastive step on this rank's local batch, with the seconds its collectives took (bench:distributed, tests). */
export function dataParallelStep(ctx: DataParallelStepContext, batch: Batch): DataParallelStepResult {
  const { model, optimizer, tokenizer, group, imageChunks, overlapped } = ctx;
  const commBefore = group.commSeconds;
  const step = trainStep(new ContrastiveLoss({ model, tokenizer, group, imageChunks, overlapped }), optimizer, ctx.gradClip, batch);
  return { ...step, commSeconds: group.commSeconds - commBefore };
}
