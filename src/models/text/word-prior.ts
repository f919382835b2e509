// Initialises the token embedding from a word prior (for example 100-d GloVe
// vectors of the vocabulary's words).
//
// Choice: a fixed Gaussian random projection [P, W] (Johnson-Lindenstrauss:
// it keeps the prior's inner products up to a common scale, whatever W is),
// then one global rescale so the projected rows have the standard deviation
// of the default init (0.02). Padding with zeros would leave W - P
// dimensions empty for every word and only works when W >= P. Rows whose
// word was not found keep their random init.
import { noGrad, randn, tensor, tidy } from '../../engine/index.js';
import type { TextEncoder } from './text-encoder.js';

export interface WordPrior {
  /** [V, P] row-major: the prior vector of each token id. */
  vectors: Float32Array;
  /** [V]: 1 where the token's word was found in the prior. */
  found: Uint8Array;
  dim: number;
}

/** Overwrites the found rows of the token embedding; returns how many rows were set. */
export function initTokenEmbeddingFromPrior(encoder: TextEncoder, prior: WordPrior, targetStd = 0.02): number {
  const weight = encoder.tokenEmbedding.weight; // [V, W]
  const [vocab, width] = weight.shape as [number, number];
  if (prior.found.length !== vocab) throw new Error(`word prior covers ${prior.found.length} tokens but the vocabulary has ${vocab}`);
  if (prior.vectors.length !== vocab * prior.dim) {
    throw new Error(`word prior has ${prior.vectors.length} values, expected ${vocab} x ${prior.dim}`);
  }
  const foundCount = prior.found.reduce((n, f) => n + (f ? 1 : 0), 0);
  if (foundCount === 0) return 0;
  noGrad(() => tidy(() => {
    const vectors = tensor(prior.vectors, [vocab, prior.dim]); // [V, P]
    const projection = randn([prior.dim, width]).div(Math.sqrt(width)); // [P, W], fixed by the seed
    const projected = vectors.matmul(projection); // [V, W]
    const mask = tensor(prior.found, [vocab, 1]).to('float32'); // [V, 1], 1 where found
    const foundRows = projected.mul(mask);
    const mean = foundRows.sum().item() / (foundCount * width);
    const variance = foundRows.square().sum().item() / (foundCount * width) - mean * mean;
    const scaled = projected.sub(mean).mul(targetStd / Math.sqrt(Math.max(variance, 1e-12))); // [V, W]
    const merged = scaled.mul(mask).add(weight.mul(mask.neg().add(1)));
    weight.copy_(merged);
  }));
  return foundCount;
}
