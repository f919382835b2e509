// Contrastive image-text losses over L2-normalised embeddings.
import { F, arange, type Tensor } from '../engine/index.js';

/**
 * SigLIP (Zhai et al. 2023): every image-text pair is an independent binary
 * decision. loss = -(1/N) sum_i sum_j log sigmoid(z_ij (t <x_i, y_j> + b)),
 * z_ij = +1 when i == j, -1 otherwise, t = exp(logitScale).
 * images, texts [N, E] normalised; logitScale, logitBias scalars;
 * pairMask [N, N] (1 = compare, 0 = ignore) or null for all pairs.
 */
export function siglipLoss(images: Tensor, texts: Tensor, logitScale: Tensor, logitBias: Tensor, pairMask: Tensor | null = null): Tensor {
  checkPairs(images, texts);
  const n = images.size(0);
  const logits = images.matmul(texts.transpose(0, 1)).mul(logitScale.exp()).add(logitBias); // [N, N]
  const signs = identity(n, images.device).mul(2).sub(1); // [N, N]: +1 diagonal, -1 elsewhere
  let terms = F.logSigmoid(logits.mul(signs)); // [N, N]
  if (pairMask !== null) terms = terms.mul(pairMask);
  return terms.sum().neg().div(n);
}

/**
 * CLIP (Radford et al. 2021): symmetric softmax cross-entropy, the matching
 * text among the batch's texts and vice versa. The temperature is capped at
 * 100 as in CLIP. pairMask [N, N] restricts the candidates (1 = candidate).
 */
export function clipLoss(images: Tensor, texts: Tensor, logitScale: Tensor, pairMask: Tensor | null = null): Tensor {
  checkPairs(images, texts);
  const n = images.size(0);
  let logits = images.matmul(texts.transpose(0, 1)).mul(logitScale.clamp(null, Math.log(100)).exp()); // [N, N]
  if (pairMask !== null) logits = logits.maskedFill(pairMask.eq(0), -Infinity);
  const targets = arange(0, n, 1, { device: images.device }); // [N]
  const imageToText = F.crossEntropy(logits, targets);
  const textToImage = F.crossEntropy(logits.transpose(0, 1), targets);
  return imageToText.add(textToImage).div(2);
}

/** [N, N] float mask, 1 where i and j fall in the same group of groupSize consecutive items. */
export function sameGroupMask(n: number, groupSize: number, device = 'cpu'): Tensor {
  const group = arange(0, n, 1, { device }).div(groupSize).unary('floor'); // [N]
  return group.unsqueeze(1).eq(group.unsqueeze(0)).to('float32');
}

function identity(n: number, device: string): Tensor {
  const i = arange(0, n, 1, { device }); // [N]
  return i.unsqueeze(1).eq(i.unsqueeze(0)).to('float32'); // [N, N]
}

function checkPairs(images: Tensor, texts: Tensor): void {
  if (images.ndim !== 2 || texts.ndim !== 2 || images.size(0) !== texts.size(0) || images.size(1) !== texts.size(1)) {
    throw new Error(`contrastive loss needs paired embeddings [N, E], got images [${images.shape}] and texts [${texts.shape}]`);
  }
}
