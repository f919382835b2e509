// The pieces of the data-parallel training step (src/train/train-step.ts with
// src/train/objectives/contrastive-loss.ts). Each rank encodes its own local
// batch (HyperCLIP task groups never straddle ranks), then the embeddings of all
// ranks are gathered so the contrastive loss sees the global batch, exactly
// as one process would. The gather is autograd-aware in the simplest way:
// the other ranks' embeddings come in detached and the local slice is the
// live tensor, so backward gives each rank d(loss)/d(its parameters) through
// its own samples only; summing those over ranks is the single-process
// gradient. Parameters used after the gather (the logit scale and bias) get
// the whole gradient on every rank and are averaged instead.
import { F, noGrad, tidy, zeros, type ProcessGroup, type Tensor } from '../engine/index.js';
import { clipLoss, sameGroupMask, siglipLoss, type HyperClip } from '../models/index.js';

/** Gradient buckets hold about this many float32 values (4 MB), as PyTorch DDP's default 25 MB scaled to small models. */
export const BUCKET_ELEMENTS = 1 << 20;

/** A batch tensor on the model's device (a copy only when that is not the CPU). */
export function onDevice(t: Tensor, model: HyperClip): Tensor {
  const device = model.logitScale.device;
  return device === 'cpu' ? t : t.to(device);
}

/** local [n, ...] on every rank -> [worldSize * n, ...] in rank order; only the local slice carries gradient. */
export function allGatherWithGrad(group: ProcessGroup, local: Tensor): Tensor {
  if (group.worldSize === 1) return local;
  const parts = noGrad(() => group.allGather(local.detach()));
  parts[group.rank] = local;
  return F.cat(parts, 0);
}

/**
 * The contrastive loss of the global batch, computed on every rank from its
 * local images [b, 3, H, W] and caption ids [b, T]. imageChunks > 1 encodes
 * the local batch in that many parts, each with its own batch-norm
 * statistics: one process with imageChunks = W computes what W ranks do.
 */
export function globalBatchLoss(model: HyperClip, images: Tensor, ids: Tensor, group: ProcessGroup, imageChunks = 1): Tensor {
  const local = images.size(0);
  const groupSize = model.config.hypernet?.groupSize ?? 1;
  const chunk = local / imageChunks;
  if (!Number.isInteger(chunk) || chunk % groupSize !== 0) {
    throw new Error(`a local batch of ${local} in ${imageChunks} part(s) does not split into whole task groups of ${groupSize}`);
  }
  const embedDim = model.config.embedDim;
  const texts = F.normalize(model.encodeText(ids), -1); // [b, E]
  const imageParts: Tensor[] = [];
  for (let c = 0; c < imageChunks; c++) {
    const partTexts = texts.narrow(0, c * chunk, chunk).reshape([chunk / groupSize, groupSize, embedDim]); // [g, S, E]
    const normParams = model.hypernet === null ? undefined : model.generateNormParams(partTexts);
    imageParts.push(F.normalize(model.encodeImage(images.narrow(0, c * chunk, chunk), normParams), -1)); // [chunk, E]
  }
  const localImages = imageParts.length === 1 ? imageParts[0]! : F.cat(imageParts, 0); // [b, E]
  const allImages = allGatherWithGrad(group, localImages); // [B, E]
  const allTexts = allGatherWithGrad(group, texts); // [B, E]
  const batch = allImages.size(0);
  const mask = model.config.loss.span === 'group' ? sameGroupMask(batch, groupSize, images.device) : null; // [B, B]
  return model.config.loss.kind === 'siglip'
    ? siglipLoss(allImages, allTexts, model.logitScale, model.logitBias, mask)
    : clipLoss(allImages, allTexts, model.logitScale, mask);
}

/**
 * Sums the gradients over ranks in flat buckets (one collective per bucket,
 * not per parameter); `replicated` parameters, whose gradient is already
 * whole on each rank, are averaged.
 */
export function reduceGradients(group: ProcessGroup, params: Tensor[], replicated: ReadonlySet<Tensor>): void {
  if (group.worldSize === 1) return;
  noGrad(() => tidy(() => {
    for (const p of params) {
      if (p.grad === null) p.grad = zeros(p.shape, { device: p.device });
      if (replicated.has(p)) p.grad!.mul_(1 / group.worldSize);
    }
    for (const bucket of gradientBuckets(params, BUCKET_ELEMENTS)) {
      const flat = F.cat(bucket.map((p) => p.grad!.reshape([-1])), 0); // [sum numel]
      group.allReduce(flat, 'sum');
      let offset = 0;
      for (const p of bucket) {
        p.grad!.copy_(flat.narrow(0, offset, p.numel).reshape(p.shape));
        offset += p.numel;
      }
    }
  }));
}

/** Consecutive runs of params of at most `elements` values each (a larger parameter is a bucket of its own). */
export function gradientBuckets(params: readonly Tensor[], elements: number): Tensor[][] {
  const out: Tensor[][] = [];
  let current: Tensor[] = [], size = 0;
  for (const p of params) {
    if (size > 0 && size + p.numel > elements) { out.push(current); current = []; size = 0; }
    current.push(p);
    size += p.numel;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Copies rank 0's parameters and buffers to every rank. */
export function broadcastWeights(group: ProcessGroup, model: HyperClip): void {
  if (group.worldSize === 1) return;
  noGrad(() => group.broadcast([...model.stateDict().values()], 0));
}
