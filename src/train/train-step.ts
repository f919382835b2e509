// One optimisation step, whatever the objective: its loss on the batch,
// backward, the ranks' gradients combined, the joint norm clipped, the update.
import { clipGradNorm, tidy, type AdamW, type ProcessGroup } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import type { HyperClip } from '../models/index.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import { ContrastiveLoss } from './objectives/contrastive-loss.js';
import type { OverlappedReducer } from './overlapped-reducer.js';
import type { BatchLoss } from './objectives/objective.js';

export interface StepResult { loss: number; gradNorm: number }

/** A non-finite loss updates nothing: the trainer stops at the last good checkpoint (also used by the benches). */
export function trainStep(objective: BatchLoss, optimizer: AdamW, gradClip: number, batch: Batch): StepResult {
  const loss = tidy(() => {
    const value = objective.loss(batch);
    value.backward();
    return value.item();
  });
  const params = optimizer.allParams();
  objective.reduceGradients(params);
  if (!Number.isFinite(loss)) {
    optimizer.zeroGrad();
    return { loss, gradNorm: NaN };
  }
  const gradNorm = clipGradNorm(params, gradClip);
  optimizer.step();
  optimizer.zeroGrad();
  return { loss, gradNorm };
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
