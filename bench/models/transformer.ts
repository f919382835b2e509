// The reference pre-LN transformer of the engine benchmark, written with the
// engine's layers; bench/reference/engine.py builds the same network in PyTorch.
import { Embedding, F, LayerNorm, Linear, Module, full, randn, tidy, type Tensor } from '../../src/engine/index.js';

export class Block extends Module {
  readonly ln1: LayerNorm;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly ln2: LayerNorm;
  readonly up: Linear;
  readonly down: Linear;

  constructor(readonly width: number, readonly heads: number, ffn: number) {
    super();
    this.ln1 = new LayerNorm(width);
    this.qkv = new Linear(width, 3 * width);
    this.proj = new Linear(width, width);
    this.ln2 = new LayerNorm(width);
    this.up = new Linear(width, ffn);
    this.down = new Linear(ffn, width);
  }

  attention(x: Tensor, mask: Tensor): Tensor {
    const [b, t, d] = x.shape as [number, number, number];
    const hd = d / this.heads;
    const qkv = this.qkv.forward(x).reshape([b, t, 3, this.heads, hd]).permute([2, 0, 3, 1, 4]); // [3, B, H, T, hd]
    const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(0, i, i + 1).squeeze(0)); // [B, H, T, hd]
    const scores = q!.matmul(k!.transpose(-2, -1)).mul(1 / Math.sqrt(hd)).add(mask); // [B, H, T, T]
    const out = F.softmax(scores, -1).matmul(v!); // [B, H, T, hd]
    return this.proj.forward(out.transpose(1, 2).reshape([b, t, d]));
  }

  forward(x: Tensor, mask: Tensor): Tensor {
    const attended = x.add(this.attention(this.ln1.forward(x), mask));
    return attended.add(this.down.forward(this.up.forward(this.ln2.forward(attended)).gelu()));
  }
}

export class Transformer extends Module {
  readonly tokens: Embedding;
  readonly positions: Tensor; // [T, D]
  readonly blocks: Block[];
  readonly ln: LayerNorm;
  readonly head: Linear;
  readonly mask: Tensor; // [T, T], -inf above the diagonal (causal)

  constructor(readonly vocab: number, readonly seq: number, width = 256, heads = 4, ffn = 1024, layers = 4) {
    super();
    this.tokens = new Embedding(vocab, width);
    this.positions = this.parameter(tidy(() => randn([seq, width]).mul(0.02)));
    this.blocks = Array.from({ length: layers }, () => new Block(width, heads, ffn));
    this.ln = new LayerNorm(width);
    this.head = new Linear(width, vocab);
    this.mask = this.buffer(tidy(() => full([seq, seq], -Infinity).triu(1)));
  }

  forward(ids: Tensor): Tensor {
    let x = this.tokens.forward(ids).add(this.positions); // [B, T, D]
    for (const block of this.blocks) x = block.forward(x, this.mask);
    return this.head.forward(this.ln.forward(x)); // [B, T, V]
  }
}
