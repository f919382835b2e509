// Contrastive image-text losses over L2-normalised embeddings.
import { F, arange, tensor, type Tensor } from '../engine/index.js';

/**
 * SigLIP (Zhai et al. 2023): every image-text pair is an independent binary
 * decision. loss = -(1/N) sum_i sum_j log sigmoid(z_ij (t <x_i, y_j> + b)),
 * z_ij = +1 when i == j, -1 otherwise, t = exp(logitScale).
 * images, texts [N, E] normalised; logitScale, logitBias scalars;
 * pairMask [N, N] (1 = compare, 0 = ignore) or null for all pairs.
 * positives [N, N] (1 = a matching pair, e.g. two captions of one class;
 * must include the diagonal) or null: only the diagonal matches.
 */
export function siglipLoss(
  images: Tensor, texts: Tensor, logitScale: Tensor, logitBias: Tensor, pairMask: Tensor | null = null, positives: Tensor | null = null,
): Tensor {
  checkPairs(images, texts);
  const n = images.size(0);
  const logits = images.matmul(texts.transpose(0, 1)).mul(logitScale.exp()).add(logitBias); // [N, N]
  const signs = (positives ?? identity(n, images.device)).mul(2).sub(1); // [N, N]: +1 matching, -1 elsewhere
  let terms = F.logSigmoid(logits.mul(signs)); // [N, N]
  if (pairMask !== null) terms = terms.mul(pairMask);
  return terms.sum().neg().div(n);
}

/**
 * CLIP (Radford et al. 2021): symmetric softmax cross-entropy, the matching
 * text among the batch's texts and vice versa. The temperature is capped at
 * 100 as in CLIP. pairMask [N, N] restricts the candidates (1 = candidate).
 * positives [N, N] (1 = matching, diagonal included): the target of each
 * row is then spread evenly over its matches (as in SupCLIP-style losses)
 * instead of falling on the diagonal alone.
 */
export function clipLoss(images: Tensor, texts: Tensor, logitScale: Tensor, pairMask: Tensor | null = null, positives: Tensor | null = null): Tensor {
  checkPairs(images, texts);
  const n = images.size(0);
  let logits = images.matmul(texts.transpose(0, 1)).mul(logitScale.clamp(null, Math.log(100)).exp()); // [N, N]
  if (pairMask !== null) logits = logits.maskedFill(pairMask.eq(0), -Infinity);
  if (positives !== null) {
    // A masked-out logit is -inf; times a zero target it would be NaN.
    if (pairMask !== null) throw new Error('the CLIP loss takes a pair mask or positives, not both (use loss.span "batch" with positives)');
    const imageTargets = positives.div(positives.sum(1, true)); // [N, N], rows sum to 1
    const textTargets = positives.transpose(0, 1).div(positives.transpose(0, 1).sum(1, true));
    return F.crossEntropy(logits, imageTargets).add(F.crossEntropy(logits.transpose(0, 1), textTargets)).div(2);
  }
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

/**
 * [N, N] float matches from per-sample identities: i and j match when they
 * are the same sample, or carry the same class label (>= 0) from the same
 * source. Unlabelled samples (label -1) match only themselves.
 */
export function samePositives(labels: Int32Array, sources: Int32Array, device = 'cpu'): Tensor {
  const n = labels.length;
  if (sources.length !== n) throw new Error(`positives: ${n} labels but ${sources.length} source indices`);
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j || (labels[i] >= 0 && labels[i] === labels[j] && sources[i] === sources[j])) mask[i * n + j] = 1;
    }
  }
  return tensor(mask, [n, n]).to(device);
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
