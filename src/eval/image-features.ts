// Image -> normalised embeddings: the shape every embedder takes in the
// evaluation (libtorch here; onnxruntime or a pruned model elsewhere), so
// the scoring never knows which one ran.
import { F, noGrad, tensor, tidy } from '../engine/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { NormParams } from '../models/index.js';
import type { BatchShape } from './feed.js';

/** L2-normalised embeddings [N, E], row-major, of a CLIP-normalised NCHW batch. */
export type ImageEmbedder = (pixels: Float32Array, shape: BatchShape) => Float32Array | Promise<Float32Array>;

/** A bundle's image encoder on libtorch, conditioned on one task's norm parameters (none: the model's own norms). */
export function libtorchImageEmbedder(bundle: Bundle, normParams: NormParams | null): ImageEmbedder {
  return (pixels, shape) => noGrad(() => tidy(() =>
    F.normalize(bundle.model.encodeImage(tensor(pixels, shape), normParams ?? undefined), -1).data() as Float32Array));
}
