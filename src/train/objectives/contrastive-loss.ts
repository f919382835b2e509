// The contrastive loss of a batch: images against their captions through the
// model's HyperCLIP / SigLIP / CLIP loss, over the global batch when the run
// is data-parallel.
//
// Head distillation (src/train/distill.ts) is a term of this loss, not a
// decorator around it nor an objective of its own: it continues from the
// frozen-prefix features this loss computes for the batch (a wrapper would
// run the frozen prefix a second time or reach inside), and it has no module,
// checkpoint, validation or output of its own: it shapes the same model.
import { tensor, type ProcessGroup, type Tensor } from '../../engine/index.js';
import type { Batch } from '../../data/index.js';
import type { Tokenizer } from '../../data/tokenizer/index.js';
import { samePositives, type HyperClip } from '../../models/index.js';
import type { ImageInput } from '../../models/hyperclip.js';
import { tokenize } from '../../eval/text-features.js';
import type { HeadDistillation } from '../distill.js';
import { globalBatchLoss, onDevice, reduceGradients } from '../distributed-step.js';
import { computePrefix } from '../frozen-prefix.js';
import { OverlappedReducer } from '../overlapped-reducer.js';
import type { PrefixCache } from '../prefix-cache.js';
import type { TrainConfig } from '../recipes.js';
import type { BatchLoss } from './objective.js';

export interface ContrastiveLossParts {
  model: HyperClip;
  tokenizer: Tokenizer;
  /** 'same-label': images of one class in a labelled source are each other's positives. */
  positives?: TrainConfig['positives'];
  /** Leading image-encoder blocks that are frozen: computed once per batch (src/train/frozen-prefix.ts); null: none. */
  prefixBlocks?: number | null;
  /** The frozen prefix's stored features (src/train/prefix-cache.ts): the batch then comes with fixed views; null: none. */
  prefixCache?: PrefixCache | null;
  /** The pretrained head teaching the generated classifiers; null: none. */
  distill?: HeadDistillation | null;
  /**
   * The data-parallel group: the loss is then the global batch's, from
   * gathered embeddings (src/train/distributed-step.ts). Such a run has
   * neither same-label positives nor distillation (createObjective refuses
   * them), and its frozen prefix simply runs inside the encoder.
   */
  group?: ProcessGroup | null;
  /**
   * The group's gradient reduction overlapped with backward (made by
   * overlappedReduction, its hooks already on the parameters); null: the
   * reduction after backward.
   */
  overlapped?: OverlappedReducer | null;
  /** For tests: one process standing in for this many ranks' batch-norm statistics. */
  imageChunks?: number;
}

export class ContrastiveLoss implements BatchLoss {
  constructor(readonly parts: ContrastiveLossParts) {}

  loss(batch: Batch): Tensor {
    const { model, tokenizer, group, distill } = this.parts;
    const ids = onDevice(tokenize(tokenizer, batch.captions), model); // [B, T]
    if (group != null) return globalBatchLoss(model, this.images(batch), ids, group, this.parts.imageChunks ?? 1);
    const positives = this.parts.positives === 'same-label' && batch.labels !== null ? samePositives(batch.labels, batch.sources, ids.device) : null;
    const input = this.imageInput(batch);
    const value = model.trainingLoss(input, ids, undefined, positives);
    if (distill == null) return value;
    if (!('block' in input)) throw new Error('distill: the image encoder has no frozen prefix to share with the teacher');
    return value.add(distill.loss(model, input).mul(distill.config.weight));
  }

  /** Images [B, 3, H, W], or the frozen prefix's features: computed, or read from the feature cache. */
  private imageInput(batch: Batch): ImageInput {
    const { model, prefixBlocks, prefixCache } = this.parts;
    if (prefixCache != null) return prefixCache.prefix(model, batch);
    return prefixBlocks == null ? this.images(batch) : computePrefix(model, this.images(batch), prefixBlocks);
  }

  private images(batch: Batch): Tensor {
    return onDevice(tensor(batch.images, [batch.size, 3, batch.height, batch.width]), this.parts.model); // [B, 3, H, W]
  }

  reduceGradients(params: Tensor[]): void {
    const { model, group, overlapped } = this.parts;
    if (group == null) return;
    if (overlapped != null) overlapped.finish();
    else reduceGradients(group, params, replicatedParameters(model));
  }

  /** Removes the overlapped reduction's hooks. */
  close(): void {
    this.parts.overlapped?.close();
  }
}

/** The logit scale and bias come after the gather: their gradient is already whole on every rank, so it is averaged, not summed. */
function replicatedParameters(model: HyperClip): Set<Tensor> {
  return new Set([model.logitScale, model.logitBias]);
}

/** The overlapped reduction of `params` (the optimiser's, all of them) for a ContrastiveLoss over `group`. */
export function overlappedReduction(model: HyperClip, group: ProcessGroup, params: Tensor[]): OverlappedReducer {
  return new OverlappedReducer(group, params, replicatedParameters(model));
}
