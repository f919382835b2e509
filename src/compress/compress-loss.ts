// What compression trains, and on which loss: the model's own pre-training
// objective (its recipe's contrastive loss with same-label positives and the
// pretrained head's distillation, as src/train/objectives/contrastive-loss.ts
// computes it), over the parameters compression must move.
//
// A recipe that locks a pretrained image encoder (LiT: "freeze":
// ["imageEncoder"]) would also lock the very convolutions and norms that
// pruning cuts, so fine-tuning could not recover them and their norms would
// carry no gradient for the Taylor saliency. Here the recipe's freeze list
// keeps only the image-encoder parts before the first prunable block (the
// stem and leading blocks that pruning never touches): those stay frozen and
// form the prefix that runs once per batch without gradients and that the
// distillation teacher shares; every prunable block, everything after it and
// the head train. The text encoder is frozen: compression is of the image
// side, whose classifier the text encoder and the hypernetwork generate, and
// the text side stays as it was trained (the hypernetwork, the image
// projection and the logit scale train, as the recipe has them). Other
// entries stay as the recipe has them. A feature cache of the frozen prefix
// is never read: the recipe's cache holds the features of its own, deeper
// prefix, which pruning invalidates.
//
// The frozen prefix, the teacher's logits, the distillation task and, with
// the text encoder frozen, the captions' and the task's text embeddings
// depend on the batch only, not on the trained weights: they are computed
// once per batch and both of SAM's passes use them. (The text encoder was
// most of a step's cost: its forward and backward for 64 captions and 128
// class prompts, at each of SAM's two passes.)
//
// With distillation, two losses continue from the prefix: the contrastive one
// under the batch's generated norms and the distillation one under the task's.
// The blocks between the prefix and the first generated norm (most of the
// encoder, since pruning trains from block 1 on) hold the same weights and
// no generated norm in both, so they run once per pass, with gradients, and
// both losses continue from their output: the same values and gradients as
// running them twice, at about half the image encoder's cost.
import { F, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import { samePositives, type HyperClip } from '../models/index.js';
import type { ImageInput, PrefixFeatures } from '../models/hyperclip.js';
import { tokenize } from '../eval/text-features.js';
import { createDistillation } from '../train/distill-setup.js';
import type { HeadDistillation } from '../train/distill.js';
import { computePrefix, frozenPrefixBlocks } from '../train/frozen-prefix.js';
import { matches, trainableParameters } from '../train/param-groups.js';
import type { TrainConfig } from '../train/recipes.js';
import { channelGroups } from './channel-groups.js';

/** A batch made ready for its loss: the loss can then be computed at any weights, as often as needed. */
export interface PreparedBatch {
  /** The batch's loss at the current weights, ready for backward; call it inside tidy(). */
  loss(): Tensor;
  /** Releases what the preparation computed. */
  dispose(): void;
}

export type BatchPreparer = (batch: Batch) => PreparedBatch;

export interface CompressionLossOptions {
  /** Run the blocks both losses share once per pass (default true); false runs them for each loss, as bench:compress-step compares. */
  shareTrunk?: boolean;
}

/**
 * Where the encoder's shared trunk ends: the first block with a generated
 * norm, the block count when only the head's are generated or there is no
 * hypernetwork, 0 when the stem's are.
 */
export function sharedTrunkEnd(model: HyperClip): number {
  const names = model.hypernet?.targets.map((t) => t.name) ?? [];
  if (names.some((n) => n.startsWith('stem.'))) return 0;
  const blocks = names.map((n) => /^blocks\.(\d+)\./.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]));
  return Math.min(model.imageEncoder.blocks.length, ...blocks);
}

/**
 * The recipe's freeze list for compressing `model`: entries inside the image
 * encoder keep only the stem and the blocks before the first prunable group;
 * the whole text encoder is frozen; everything else is as the recipe has it.
 */
export function compressionFreeze(model: HyperClip, frozen: readonly string[]): string[] {
  const groups = channelGroups(model);
  const firstPruned = Math.min(model.imageEncoder.blocks.length, ...groups.filter((g) => g.block >= 0).map((g) => g.block));
  const untouched = ['imageEncoder.stem', ...Array.from({ length: firstPruned }, (_, b) => `imageEncoder.blocks.${b}`)];
  const out: string[] = [];
  for (const prefix of [...frozen.filter((f) => !matches(f, 'textEncoder')), 'textEncoder']) {
    if (!matches(prefix, 'imageEncoder') && !matches('imageEncoder', prefix)) {
      out.push(prefix);
      continue;
    }
    // The narrower of the entry and each untouched part, where one contains the other.
    for (const part of untouched) {
      if (matches(part, prefix)) out.push(part);
      else if (matches(prefix, part)) out.push(prefix);
    }
  }
  return [...new Set(out)];
}

export interface CompressionTraining {
  /** The recipe with the compression freeze list: what createOptimizer reads. */
  recipe: TrainConfig;
  /** The parameters that train, by name. */
  params: [string, Tensor][];
  /** Blocks of the frozen prefix after the stem; null when the stem trains. */
  prefixBlocks: number | null;
  prepare: BatchPreparer;
  /** The recipe's distillation, whose task draws a checkpoint counts; null without one. */
  distill: HeadDistillation | null;
}

/**
 * Freezes what compression leaves frozen (on `model`: call it on each model
 * that trains, the pruned one included) and returns the recipe's loss over
 * it. `seed` seeds the distillation's task draws.
 */
export function compressionTraining(model: HyperClip, trained: TrainConfig, tokenizer: Tokenizer, seed: number, options: CompressionLossOptions = {}): CompressionTraining {
  if (trained.objective === 'classify') throw new Error(`recipe ${trained.name} trains a label head (objective classify): compression needs a contrastive model`);
  const recipe: TrainConfig = { ...trained, freeze: compressionFreeze(model, trained.freeze ?? []) };
  const params = trainableParameters(model, recipe.freeze); // before frozenPrefixBlocks: it reads requiresGrad
  const prefixBlocks = frozenPrefixBlocks(model);
  const distill = recipe.distill === undefined ? null : createDistillation(recipe.distill, model, prefixBlocks, tokenizer, seed);
  return { recipe, params, prefixBlocks, distill, prepare: (batch) => prepareBatch(model, tokenizer, recipe, prefixBlocks, distill, batch, options) };
}

/** The batch's tokens, positives, prefix and distillation task, and its loss at any weights. */
export function prepareBatch(model: HyperClip, tokenizer: Tokenizer, recipe: TrainConfig, prefixBlocks: number | null, distill: HeadDistillation | null, batch: Batch,
  options: CompressionLossOptions = {}): PreparedBatch {
  const trunkEnd = (options.shareTrunk ?? true) ? sharedTrunkEnd(model) : 0;
  const textFrozen = ![...model.textEncoder.parameters()].some((p) => p.requiresGrad);
  const kept = tidy(() => {
    const ids = tokenize(tokenizer, batch.captions); // [B, T]
    const positives = recipe.positives === 'same-label' && batch.labels !== null ? samePositives(batch.labels, batch.sources, ids.device) : null; // [B, B]
    const images = tensor(batch.images, [batch.size, 3, batch.height, batch.width]); // [B, 3, H, W]
    const input: ImageInput = prefixBlocks === null ? images : computePrefix(model, images, prefixBlocks);
    const captions = textFrozen ? noGrad(() => F.normalize(model.encodeText(ids), -1)) : null; // [B, E]
    if (distill === null) return { ids, positives, input, captions, task: null, classes: null };
    if (!('block' in input)) throw new Error('distill: the image encoder has no frozen prefix to share with the teacher');
    const task = distill.drawTaskFor(distill.teacherLogits(input));
    const classes = textFrozen ? noGrad(() => distill.classEmbeddings(model, task.prompts, ids.device)) : null; // [K, E]
    return { ids, positives, input, captions, task, classes };
  });
  const { ids, positives, input, captions, task, classes } = kept;
  const contrastive = (images: ImageInput): Tensor => captions === null
    ? model.trainingLoss(images, ids, undefined, positives)
    : model.trainingLossFromText(images, captions, undefined, positives);
  return {
    loss: () => {
      if (distill === null || task === null || !('block' in input)) return contrastive(input);
      const shared: PrefixFeatures = trunkEnd > input.block
        ? { prefix: model.imageEncoder.forwardBlocks(input.prefix, input.block, trunkEnd), block: trunkEnd } // [B, C, h, w], with gradients
        : input;
      const distilled = classes === null ? distill.taskLoss(model, shared, task) : distill.taskLossFromText(model, shared, classes, task.targets);
      return contrastive(shared).add(distilled.mul(distill.config.weight));
    },
    dispose: () => {
      for (const t of [ids, positives, 'block' in input ? input.prefix : input, captions, task?.targets, classes]) if (t != null && !t.disposed) t.dispose();
    },
  };
}
