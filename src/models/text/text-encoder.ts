// CLIP-style text encoder: token + learned position embeddings, pre-LN
// causal transformer, final LayerNorm, pooling at the end token, projection
// to the shared embedding size.
import { Embedding, LayerNorm, Linear, Module, activeTracer, init, zeros, type Tensor } from '../../engine/index.js';
import type { TextEncoderConfig } from '../config.js';
import { Transformer, causalMask } from '../transformer.js';

export class TextEncoder extends Module {
  readonly tokenEmbedding: Embedding;
  readonly positionEmbedding: Tensor; // [context, W]
  readonly transformer: Transformer;
  readonly finalNorm: LayerNorm;
  readonly projection: Linear;

  constructor(readonly config: TextEncoderConfig, readonly embedDim: number) {
    super();
    this.tokenEmbedding = new Embedding(config.vocabSize, config.width, 0.02);
    this.positionEmbedding = this.parameter(init.normal_(zeros([config.contextLength, config.width]), 0, 0.01));
    this.transformer = new Transformer(config.width, config.layers, config.heads, config.mlpRatio);
    this.finalNorm = new LayerNorm(config.width);
    this.projection = new Linear(config.width, embedDim, false);
    init.normal_(this.projection.weight, 0, config.width ** -0.5);
  }

  /**
   * ids int64 [B, T] (T <= context) -> [B, E]. The pooled position is
   * endPositions (int64 [B]) when given, else the first end token of each row
   * (CLIP takes the argmax of the ids, which only works when the end token has
   * the highest id; ours need not).
   */
  forward(ids: Tensor, endPositions?: Tensor): Tensor {
    if (ids.ndim !== 2) throw new Error(`text encoder expects token ids of shape [B, T], got [${ids.shape}]`);
    if (ids.dtype !== 'int64') throw new Error(`text encoder expects int64 token ids, got ${ids.dtype}`);
    const { contextLength, width } = this.config;
    if (ids.size(1) > contextLength) throw new Error(`cannot encode sequences of length ${ids.size(1)}: the context is ${contextLength}`);
    const ends = endPositions ?? this.endPositions(ids); // [B]
    const trimmed = this.trimAfterLastEnd(ids, ends); // [B, T'], T' <= T
    const [B, T] = trimmed.shape as [number, number];
    const positions = T === contextLength ? this.positionEmbedding : this.positionEmbedding.narrow(0, 0, T); // [T, W]
    let x = this.tokenEmbedding.forward(trimmed).add(positions); // [B, T, W]
    x = this.transformer.forward(x, causalMask(T, ids.device)); // [B, T, W]
    x = this.finalNorm.forward(x);
    const index = ends.reshape([B, 1, 1]).expand([B, 1, width]); // [B, 1, W]
    const pooled = x.gather(1, index).squeeze(1); // [B, W]
    return this.projection.forward(pooled); // [B, E]
  }

  /** Position of the first end token in each row, [B]; argmax returns the first maximum. */
  private endPositions(ids: Tensor): Tensor {
    const isEnd = ids.eq(this.config.endTokenId).to('float32'); // [B, T]
    return isEnd.argmax(1);
  }

  /**
   * Drops the padding columns after the batch's last end token: with a
   * causal mask and pooling at the end token they cannot change the result,
   * and captions are often half the context. Skipped while tracing, where the
   * graph must not depend on the data.
   */
  private trimAfterLastEnd(ids: Tensor, ends: Tensor): Tensor {
    if (activeTracer() !== null) return ids;
    const used = ends.amax().item() + 1;
    return used < ids.size(1) ? ids.narrow(1, 0, used) : ids;
  }
}
