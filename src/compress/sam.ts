// Sharpness-aware minimisation (Foret et al. 2021) and its adaptive form
// ASAM (Kwon et al. 2021) as one optimisation step over any optimizer: the
// gradient at w gives a worst-case nudge eps within radius rho, the weights
// move to w + eps, the gradient there is what the optimizer applies at w.
//   SAM:      eps = rho * g / ||g||
//   ASAM:     eps = rho * T^2 g / ||T g||, T = |w| + eta (scale-invariant radius)
//   channel:  eps = rho * s * g / ||g||, s a per-channel radius multiplier
//             (AdaSAP's warm-up: unimportant channels get larger nudges)
// Two forward and backward passes per step; the nudge is added in place
// without autograd and the weights are then restored from a saved copy.
import { clipGradNorm, noGrad, tensor, tidy, type AdamW, type Tensor } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import { tokenize } from '../eval/text-features.js';
import type { HyperClip } from '../models/index.js';
import type { BatchPreparer, PreparedBatch } from './compress-loss.js';

export type Perturbation =
  | { kind: 'sam'; rho: number }
  | { kind: 'asam'; rho: number; eta: number }
  /** multipliers: per parameter name, a tensor broadcastable to it; parameters without one use 1. */
  | { kind: 'channel'; rho: number; multipliers: Map<string, Tensor> };

export interface StepContext {
  model: HyperClip;
  optimizer: AdamW;
  tokenizer: Tokenizer;
  /** The trainable parameters by name. */
  params: [string, Tensor][];
  gradClip: number;
  /**
   * The loss of a batch (the recipe's objective, src/compress/compress-loss.ts);
   * absent: the model's contrastive loss on the whole image encoder.
   */
  prepare?: BatchPreparer;
}

export interface StepResult { loss: number; perturbedLoss: number | null; gradNorm: number }

/** Pre-training loss of a batch, with its gradients accumulated on the parameters. */
export function lossBackward(model: HyperClip, tokenizer: Tokenizer, batch: Batch): number {
  const prepared = plainLoss(model, tokenizer)(batch);
  try {
    return backwardOf(prepared);
  } finally {
    prepared.dispose();
  }
}

/** The model's own contrastive loss on images and captions, nothing prepared ahead. */
const plainLoss = (model: HyperClip, tokenizer: Tokenizer): BatchPreparer => (batch) => ({
  loss: () => {
    const images = tensor(batch.images, [batch.size, 3, batch.height, batch.width]); // [B, 3, H, W]
    const ids = tokenize(tokenizer, batch.captions); // [B, T]
    return model.trainingLoss(images, ids);
  },
  dispose: () => undefined,
});

function backwardOf(prepared: PreparedBatch): number {
  return tidy(() => {
    const value = prepared.loss();
    value.backward();
    return value.item();
  });
}

/**
 * One step: loss and gradients at w; `afterGradients` sees them (saliency);
 * with a perturbation, the gradients are recomputed at w + eps; then clip and
 * update. A non-finite loss skips the update.
 */
export function optimizationStep(ctx: StepContext, batch: Batch, perturbation: Perturbation | null, afterGradients?: () => void): StepResult {
  const { model, tokenizer } = ctx;
  const prepared = (ctx.prepare ?? plainLoss(model, tokenizer))(batch);
  try {
    return stepOn(ctx, prepared, perturbation, afterGradients);
  } finally {
    prepared.dispose();
  }
}

function stepOn(ctx: StepContext, prepared: PreparedBatch, perturbation: Perturbation | null, afterGradients?: () => void): StepResult {
  const { optimizer, params } = ctx;
  const loss = backwardOf(prepared);
  let perturbedLoss: number | null = null;
  if (Number.isFinite(loss)) {
    afterGradients?.();
    if (perturbation !== null) {
      const nudges = perturbationOf(params, perturbation);
      // Restored by copy, not by subtracting the nudge: w + eps - eps is not w in floating point.
      const saved = noGrad(() => params.map(([, p], i) => (nudges[i] ? p.clone() : null)));
      noGrad(() => params.forEach(([, p], i) => { if (nudges[i]) p.add_(nudges[i]!); }));
      optimizer.zeroGrad();
      try {
        perturbedLoss = backwardOf(prepared);
      } finally {
        noGrad(() => params.forEach(([, p], i) => { if (saved[i]) p.copy_(saved[i]!); }));
        for (const t of [...nudges, ...saved]) t?.dispose();
      }
    }
  }
  if (!Number.isFinite(loss) || (perturbedLoss !== null && !Number.isFinite(perturbedLoss))) {
    optimizer.zeroGrad();
    return { loss, perturbedLoss, gradNorm: NaN };
  }
  const gradNorm = clipGradNorm(optimizer.allParams(), ctx.gradClip);
  optimizer.step();
  optimizer.zeroGrad();
  return { loss, perturbedLoss, gradNorm };
}

/** eps per parameter (null where there is no gradient). */
export function perturbationOf(params: [string, Tensor][], perturbation: Perturbation): (Tensor | null)[] {
  return noGrad(() => {
    const directions: (Tensor | null)[] = [];
    let squaredNorm = 0;
    for (const [name, p] of params) {
      const g = p.grad;
      if (g === null) { directions.push(null); continue; }
      const { direction, normTerm } = tidy(() => {
        if (perturbation.kind === 'asam') {
          const scale = p.abs().add(perturbation.eta); // T
          return { direction: g.mul(scale.square()), normTerm: g.mul(scale).square().sum().item() };
        }
        const multiplier = perturbation.kind === 'channel' ? perturbation.multipliers.get(name) : undefined;
        const normTerm = g.square().sum().item();
        return { direction: multiplier === undefined ? g.mul(1) : g.mul(multiplier), normTerm };
      });
      g.dispose();
      directions.push(direction);
      squaredNorm += normTerm;
    }
    const factor = perturbation.rho / (Math.sqrt(squaredNorm) + 1e-12);
    for (const d of directions) d?.mul_(factor);
    return directions;
  });
}
