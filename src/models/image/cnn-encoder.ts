// The body every CNN image encoder shares, on top of the blocks of blocks.ts.
import { F, Module, keep, noGrad, type Tensor } from '../../engine/index.js';
import { ConvNormAct, type NormLayerInfo, type NormOverrides } from './blocks.js';
import type { ImageEncoder } from './encoder.js';

/** Names every ConvNormAct's norm by its module path and lists them in forward order. */
function registerNormLayers(encoder: Module): NormLayerInfo[] {
  const out: NormLayerInfo[] = [];
  for (const [path, m] of encoder.namedModules()) {
    if (m instanceof ConvNormAct) {
      m.normName = `${path}.norm`;
      out.push({ name: m.normName, channels: m.norm.channels, stage: m.stage });
    }
  }
  return out;
}

/**
 * Converts a module's 4-d weights to channels-last in place, once, so that
 * convolutions on channels-last activations need no per-step layout change.
 */
function convertWeightsToChannelsLast(module: Module): void {
  for (const [, t] of module.namedParameters()) {
    if (t.ndim !== 4 || t.isContiguous('channels-last')) continue;
    const converted = keep(noGrad(() => t.contiguous('channels-last')));
    // t takes over the converted storage; `converted` is an alias that is never disposed.
    t.replaceHandle(converted.handle);
    t.requiresGrad = true;
  }
}

/** A residual block of any family: its norm layers take the hypernetwork's overrides. */
export interface EncoderBlock {
  forward(x: Tensor, overrides?: NormOverrides): Tensor;
}

/**
 * The body every CNN family here shares: stem, residual blocks, 1x1 head and
 * global average pooling, with every norm layer named for the hypernetwork.
 * A family builds its layers in its constructor, then calls finishLayers().
 */
export abstract class CnnEncoder extends Module implements ImageEncoder {
  abstract readonly stem: ConvNormAct;
  abstract readonly blocks: readonly EncoderBlock[];
  /** The final 1x1 conv before pooling; null where the last block already gives the features (MobileNet v1). */
  abstract readonly head: ConvNormAct | null;
  abstract readonly featureDim: number;
  private norms: NormLayerInfo[] = [];

  constructor(readonly channelsLast: boolean) {
    super();
  }

  /** Names the norm layers and, for channels-last, converts the conv weights once. */
  protected finishLayers(): void {
    this.norms = registerNormLayers(this);
    if (this.channelsLast) convertWeightsToChannelsLast(this);
  }

  normLayers(): NormLayerInfo[] {
    return this.norms.map((n) => ({ ...n }));
  }

  /** images [N, 3, H, W] -> stem -> blocks -> head -> global average pool -> [N, featureDim]. */
  forward(images: Tensor, normOverrides?: NormOverrides): Tensor {
    return this.forwardFrom(this.forwardPrefix(images, 0, normOverrides), 0, normOverrides);
  }

  /**
   * The first `blocks` blocks (after the stem and input adaptation): [N, C, h, w].
   * A frozen prefix computed once per image is what a feature cache stores.
   */
  forwardPrefix(images: Tensor, blocks: number, normOverrides?: NormOverrides): Tensor {
    this.checkSplit(blocks);
    let x = this.adaptInput(this.channelsLast ? images.contiguous('channels-last') : images);
    x = this.stem.forward(x, normOverrides); // [N, C0, H/s, W/s]
    for (let b = 0; b < blocks; b++) x = this.blocks[b]!.forward(x, normOverrides);
    return x;
  }

  /** The rest of the network from block `block` on, given forwardPrefix(images, block): [N, featureDim]. */
  forwardFrom(x: Tensor, block: number, normOverrides?: NormOverrides): Tensor {
    x = this.forwardBlocks(x, block, this.blocks.length, normOverrides);
    if (this.head !== null) x = this.head.forward(x, normOverrides); // [N, D, h, w]
    return F.adaptiveAvgPool2d(x, 1).flatten(1); // [N, D]
  }

  /** Blocks from..to-1 on forwardPrefix(images, from)'s output: forwardPrefix(images, to)'s [N, C, h, w]. */
  forwardBlocks(x: Tensor, from: number, to: number, normOverrides?: NormOverrides): Tensor {
    this.checkSplit(from);
    this.checkSplit(to);
    if (to < from) throw new Error(`the image encoder runs forward: cannot go from block ${from} back to block ${to}`);
    if (this.channelsLast && from > 0) x = x.contiguous('channels-last');
    for (let b = from; b < to; b++) x = this.blocks[b]!.forward(x, normOverrides);
    return x;
  }

  /** Maps the project's normalised images to what the family's weights expect; the identity by default. */
  protected adaptInput(images: Tensor): Tensor {
    return images;
  }

  private checkSplit(blocks: number): void {
    if (!Number.isInteger(blocks) || blocks < 0 || blocks > this.blocks.length) {
      throw new Error(`the image encoder has ${this.blocks.length} blocks: cannot split it after block ${blocks}`);
    }
  }
}
