// The arithmetic of the image classifier, counted from the model's layers at
// its configured resolution: multiply-adds of every convolution and of the
// image projection, and their parameters. Norms and activations are left
// out (the deployed classifier folds norms into the convolutions). FLOPs
// here means multiply-adds, as in the pruning literature.
import { Conv2d, Linear, type Module } from '../engine/index.js';
import type { HyperClip } from '../models/index.js';
import { ConvNormAct } from '../models/image/blocks.js';

export interface LayerCost { name: string; macs: number; params: number }

export interface ClassifierCost {
  /** Multiply-adds of one image through the encoder and projection. */
  macs: number;
  /** Parameters of the encoder and projection (what a generated classifier holds, before the class embeddings). */
  params: number;
  layers: LayerCost[];
}

/** A conv's output size; TensorFlow's SAME padding (the imported MobileNets' strided convs, padded before the conv) gives ceil(size / stride). */
const outputSize = (size: number, conv: Conv2d, tfSame: boolean): number =>
  tfSame ? Math.ceil(size / conv.stride) : Math.floor((size + 2 * conv.padding - conv.kernel) / conv.stride) + 1;

/**
 * Walks the convolutions in forward order, tracking the feature-map size:
 * squeeze-excitation convs run on the pooled 1x1 map, a residual block's
 * strided shortcut reads the block's input.
 */
export function classifierCost(model: HyperClip): ClassifierCost {
  const layers: LayerCost[] = [];
  let size = model.config.image.imageSize;
  const blockInput = new Map<string, number>();
  const tfSame = new Set<Conv2d>();
  for (const [name, m] of (model.imageEncoder as Module).namedModules('imageEncoder.')) {
    if (m instanceof ConvNormAct && m.explicitPadding) tfSame.add(m.conv);
    if (!(m instanceof Conv2d)) continue;
    const block = /^imageEncoder\.blocks\.\d+/.exec(name)?.[0];
    if (block !== undefined && !blockInput.has(block)) blockInput.set(block, size);
    const params = m.weight.numel + (m.bias?.numel ?? 0);
    const perPixel = m.outChannels * (m.inChannels / m.groups) * m.kernel * m.kernel;
    if (name.includes('.se.')) {
      layers.push({ name, macs: perPixel, params });
      continue;
    }
    const input = name.endsWith('.shortcut.conv') && block !== undefined ? blockInput.get(block)! : size;
    const out = outputSize(input, m, tfSame.has(m));
    if (!name.endsWith('.shortcut.conv')) size = out;
    layers.push({ name, macs: perPixel * out * out, params });
  }
  const projection: Linear = model.imageProjection;
  layers.push({ name: 'imageProjection', macs: projection.weight.numel, params: projection.weight.numel });
  return { macs: layers.reduce((s, l) => s + l.macs, 0), params: layers.reduce((s, l) => s + l.params, 0), layers };
}
