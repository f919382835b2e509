// The hypernetwork: reads the SET of text embeddings of a task, mixes them
// with a small non-causal transformer, mean-pools over the set (so the order
// of the set does not matter), and a zero-initialised head outputs deltas to
// the scale and bias of the chosen image-encoder norm layers. The deltas are
// added to the encoder's own norm parameters by the caller, so at step 0 the
// generated encoder is exactly the base encoder.
import { F, LayerNorm, Linear, Module, init, zeros, type Tensor } from '../engine/index.js';
import type { HypernetConfig, NormLayerSelection } from './config.js';
import type { NormLayerInfo } from './image/blocks.js';
import { Transformer } from './transformer.js';

export interface NormDelta {
  scale: Tensor; // [G, C]
  shift: Tensor; // [G, C]
}

/** The norm layers a selection picks, in forward order. */
export function selectNormLayers(layers: NormLayerInfo[], selection: NormLayerSelection): NormLayerInfo[] {
  if (layers.length === 0) throw new Error('the image encoder has no norm layers to generate');
  if (selection === 'all') return layers;
  const lastStage = Math.max(...layers.map((l) => l.stage));
  if (selection.lastStages > lastStage + 1) {
    throw new Error(`hypernet.normLayers asks for the last ${selection.lastStages} stages but the encoder has ${lastStage + 1}`);
  }
  return layers.filter((l) => l.stage > lastStage - selection.lastStages);
}

export class Hypernetwork extends Module {
  readonly inputProjection: Linear | null;
  readonly learnedTokens: Tensor | null; // [S, W]
  readonly mixer: Transformer;
  readonly finalNorm: LayerNorm;
  readonly head: Linear;
  readonly targets: NormLayerInfo[];

  constructor(readonly config: HypernetConfig, embedDim: number, normLayers: NormLayerInfo[]) {
    super();
    this.targets = selectNormLayers(normLayers, config.normLayers);
    const textInput = config.input === 'text';
    this.inputProjection = textInput ? new Linear(embedDim, config.width) : null;
    this.learnedTokens = textInput ? null : this.parameter(init.normal_(zeros([config.learnedTokens, config.width]), 0, 0.02));
    this.mixer = new Transformer(config.width, config.layers, config.heads, config.mlpRatio);
    this.finalNorm = new LayerNorm(config.width);
    const outputs = 2 * this.targets.reduce((n, l) => n + l.channels, 0);
    this.head = new Linear(config.width, outputs);
    init.zeros_(this.head.weight);
    init.zeros_(this.head.bias!);
  }

  /**
   * textEmbeddings [G, S, E] (G tasks, S texts each) -> per-layer deltas
   * [G, C]. With the learned-token control the text is ignored except for G.
   */
  forward(textEmbeddings: Tensor): Map<string, NormDelta> {
    if (textEmbeddings.ndim !== 3) {
      throw new Error(`hypernetwork expects text embeddings of shape [tasks, set size, dim], got [${textEmbeddings.shape}]`);
    }
    const tasks = textEmbeddings.size(0);
    let tokens: Tensor; // [G, S, W]
    if (this.inputProjection !== null) {
      tokens = this.inputProjection.forward(F.normalize(textEmbeddings, -1));
    } else {
      const [S, W] = this.learnedTokens!.shape as [number, number];
      tokens = this.learnedTokens!.unsqueeze(0).expand([tasks, S, W]);
    }
    const mixed = this.finalNorm.forward(this.mixer.forward(tokens, null)); // [G, S, W], no mask: a set
    const pooled = mixed.mean(1); // [G, W]
    return this.splitHead(this.head.forward(pooled).mul(this.config.outputScale)); // [G, 2 * sum C]
  }

  private splitHead(out: Tensor): Map<string, NormDelta> {
    const deltas = new Map<string, NormDelta>();
    let offset = 0;
    for (const layer of this.targets) {
      const scale = out.narrow(1, offset, layer.channels); // [G, C]
      const shift = out.narrow(1, offset + layer.channels, layer.channels); // [G, C]
      deltas.set(layer.name, { scale, shift });
      offset += 2 * layer.channels;
    }
    return deltas;
  }
}
