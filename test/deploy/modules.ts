// Tiny models built with the engine for the export tests: a MobileNet-style
// CNN block, a pre-LN transformer with a causal mask and end-token pooling,
// and a batch norm whose scale and shift come per sample from outside.
import {
  BatchNorm2d, Conv2d, Embedding, F, full, LayerNorm, Linear, Module, noGrad, ones, randn, rand, type Tensor,
} from '../../src/engine/index.js';

/** Gives a batch norm non-trivial running statistics and affine values, as a trained one has. */
export function randomizeBatchNorm(bn: BatchNorm2d): void {
  noGrad(() => {
    const c = bn.channels;
    bn.runningMean.copy_(randn([c]).mul(0.3));
    bn.runningVar.copy_(rand([c]).add(0.5));
    bn.weight.copy_(rand([c]).add(0.5));
    bn.bias.copy_(randn([c]).mul(0.2));
  });
}

/** Conv+BN+ReLU6, depthwise conv+BN+hardswish, squeeze-excite gating, projection, pool, linear head. */
export class TinyCnn extends Module {
  readonly stem = new Conv2d(3, 8, 3, { stride: 2 });
  readonly stemBn = new BatchNorm2d(8);
  readonly depthwise = new Conv2d(8, 8, 3, { groups: 8 });
  readonly depthwiseBn = new BatchNorm2d(8);
  readonly squeeze = new Conv2d(8, 4, 1, { bias: true });
  readonly excite = new Conv2d(4, 8, 1, { bias: true });
  readonly project = new Conv2d(8, 8, 1);
  readonly projectBn = new BatchNorm2d(8);
  readonly head = new Linear(8, 5);

  constructor() {
    super();
    for (const bn of [this.stemBn, this.depthwiseBn, this.projectBn]) randomizeBatchNorm(bn);
  }

  forward(x: Tensor): Tensor {
    const stem = F.relu6(this.stemBn.forward(this.stem.forward(x))); // [N, 8, H/2, W/2]
    const dw = F.hardswish(this.depthwiseBn.forward(this.depthwise.forward(stem))); // [N, 8, H/2, W/2]
    const pooled = F.adaptiveAvgPool2d(dw, 1); // [N, 8, 1, 1]
    const gate = F.hardsigmoid(this.excite.forward(this.squeeze.forward(pooled).silu())); // [N, 8, 1, 1]
    const projected = this.projectBn.forward(this.project.forward(dw.mul(gate))).add(stem); // [N, 8, H/2, W/2]
    const features = F.adaptiveAvgPool2d(projected, 1).reshape([x.size(0), 8]); // [N, 8]
    return this.head.forward(features); // [N, 5]
  }
}

export interface TinyTextConfig {
  vocab: number;
  context: number;
  width: number;
  heads: number;
  embedDim: number;
}

/** One pre-LN causal transformer block over token ids; pools the end token (the largest id, as CLIP does). */
export class TinyTextEncoder extends Module {
  readonly tokenEmbedding: Embedding;
  readonly position: Tensor; // [T, D]
  readonly ln1: LayerNorm;
  readonly qkv: Linear;
  readonly out: Linear;
  readonly ln2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly lnFinal: LayerNorm;
  readonly projection: Linear;

  constructor(readonly config: TinyTextConfig, readonly pooling: 'gather' | 'indexSelect' = 'gather') {
    super();
    const { vocab, context, width, embedDim } = config;
    this.tokenEmbedding = new Embedding(vocab, width, 0.5);
    this.position = this.parameter(randn([context, width]).mul(0.1));
    this.ln1 = new LayerNorm(width);
    this.qkv = new Linear(width, 3 * width);
    this.out = new Linear(width, width);
    this.ln2 = new LayerNorm(width);
    this.fc1 = new Linear(width, 2 * width);
    this.fc2 = new Linear(2 * width, width);
    this.lnFinal = new LayerNorm(width);
    this.projection = new Linear(width, embedDim, false);
  }

  forward(tokens: Tensor): Tensor {
    const [b, t] = tokens.shape as [number, number];
    const x = this.tokenEmbedding.forward(tokens).add(this.position.slice(0, 0, t)); // [B, T, D]
    const h = x.add(this.attention(this.ln1.forward(x))); // [B, T, D]
    const y = h.add(this.fc2.forward(this.fc1.forward(this.ln2.forward(h)).gelu())); // [B, T, D]
    const z = this.lnFinal.forward(y);
    const pooled = this.pooling === 'gather' ? this.poolByGather(z, tokens) : this.poolLastByIndexSelect(z);
    void b;
    return F.normalize(this.projection.forward(pooled), -1); // [B, E]
  }

  private attention(x: Tensor): Tensor {
    const [b, t, d] = x.shape as [number, number, number];
    const { heads } = this.config;
    const dh = d / heads;
    const qkv = this.qkv.forward(x).reshape([b, t, 3, heads, dh]).permute([2, 0, 3, 1, 4]); // [3, B, H, T, Dh]
    const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(0, i, i + 1).squeeze(0)); // [B, H, T, Dh]
    const scores = q!.matmul(k!.transpose(-2, -1)).mul(1 / Math.sqrt(dh)); // [B, H, T, T]
    const future = ones([t, t]).triu(1).to('bool'); // [T, T], true above the diagonal
    const attn = F.softmax(scores.maskedFill(future, -Infinity), -1);
    const mixed = attn.matmul(v!).permute([0, 2, 1, 3]).reshape([b, t, d]); // [B, T, D]
    return this.out.forward(mixed);
  }

  private poolByGather(z: Tensor, tokens: Tensor): Tensor {
    const [b, , d] = z.shape as [number, number, number];
    const end = tokens.argmax(-1); // [B]
    const index = end.reshape([b, 1, 1]).expand([b, 1, d]); // [B, 1, D]
    return z.gather(1, index).squeeze(1); // [B, D]
  }

  private poolLastByIndexSelect(z: Tensor): Tensor {
    const last = z.size(1) - 1;
    const index = full([1], last, { dtype: 'int64' }); // [1]
    return z.indexSelect(1, index).squeeze(1); // [B, D]
  }
}

/** A conv followed by a batch norm whose scale and shift are given per sample ([N, C]), as a hypernetwork gives them. */
export class PerSampleNorm extends Module {
  readonly conv = new Conv2d(3, 6, 3);
  readonly bn = new BatchNorm2d(6);

  constructor() {
    super();
    randomizeBatchNorm(this.bn);
  }

  forward(x: Tensor, scale: Tensor, shift: Tensor): Tensor {
    const y = this.bn.forward(this.conv.forward(x), scale, shift).relu(); // [N, 6, H, W]
    return y.mean([2, 3]); // [N, 6]
  }
}
