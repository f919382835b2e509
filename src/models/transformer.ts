// Pre-LN transformer blocks, shared by the text encoder (causal) and the
// hypernetwork (non-causal, over a set).
import { F, LayerNorm, Linear, Module, full, init, type Tensor } from '../engine/index.js';

export class MultiHeadAttention extends Module {
  readonly qkv: Linear;
  readonly out: Linear;
  readonly headDim: number;

  constructor(readonly width: number, readonly heads: number) {
    super();
    if (width % heads !== 0) throw new Error(`attention width ${width} is not divisible by ${heads} heads`);
    this.headDim = width / heads;
    this.qkv = new Linear(width, 3 * width);
    this.out = new Linear(width, width);
  }

  /** x [B, T, W], additiveMask [T, T] (0 or -inf) or null -> [B, T, W]. */
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    const [B, T] = x.shape as [number, number];
    const qkv = this.qkv.forward(x).reshape([B, T, 3, this.heads, this.headDim]).permute([2, 0, 3, 1, 4]); // [3, B, H, T, Dh]
    const pick = (i: number) => qkv.narrow(0, i, 1).squeeze(0); // [B, H, T, Dh]
    const [q, k, v] = [pick(0), pick(1), pick(2)];
    let scores = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(this.headDim)); // [B, H, T, T]
    if (additiveMask !== null) scores = scores.add(additiveMask);
    const attended = F.softmax(scores, -1).matmul(v); // [B, H, T, Dh]
    return this.out.forward(attended.transpose(1, 2).reshape([B, T, this.width])); // [B, T, W]
  }
}

export class TransformerBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attention: MultiHeadAttention;
  readonly norm2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(width: number, heads: number, mlpRatio: number) {
    super();
    const hidden = Math.round(width * mlpRatio);
    this.norm1 = new LayerNorm(width);
    this.attention = new MultiHeadAttention(width, heads);
    this.norm2 = new LayerNorm(width);
    this.fc1 = new Linear(width, hidden);
    this.fc2 = new Linear(hidden, width);
  }

  /** x [B, T, W] -> [B, T, W]. */
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    const h = x.add(this.attention.forward(this.norm1.forward(x), additiveMask));
    return h.add(this.fc2.forward(this.fc1.forward(this.norm2.forward(h)).gelu()));
  }
}

export class Transformer extends Module {
  readonly blocks: TransformerBlock[];

  constructor(width: number, layers: number, heads: number, mlpRatio: number) {
    super();
    this.blocks = Array.from({ length: layers }, () => new TransformerBlock(width, heads, mlpRatio));
    initTransformer(this, layers);
  }

  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    for (const block of this.blocks) x = block.forward(x, additiveMask);
    return x;
  }
}

/** GPT-2 style: N(0, 0.02) weights, zero biases, residual outputs scaled by 1/sqrt(2 * layers). */
function initTransformer(t: Transformer, layers: number): void {
  for (const block of t.blocks) {
    for (const linear of [block.attention.qkv, block.attention.out, block.fc1, block.fc2]) {
      init.normal_(linear.weight, 0, 0.02);
      if (linear.bias !== null) init.zeros_(linear.bias);
    }
    init.normal_(block.attention.out.weight, 0, 0.02 / Math.sqrt(2 * layers));
    init.normal_(block.fc2.weight, 0, 0.02 / Math.sqrt(2 * layers));
  }
}

/** [T, T] additive mask: 0 on and below the diagonal, -inf above (position t sees positions <= t). */
export function causalMask(length: number, device = 'cpu'): Tensor {
  return full([length, length], -Infinity, { device }).triu(1);
}
