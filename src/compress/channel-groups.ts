// The prunable channel groups of a HyperCLIP (or SigLIP) model: sets of
// channels that appear together in several tensors, so removing channel c
// of a group removes slice c from each of them. A group is the expanded
// (inner) width of an MBConv block with an expansion conv (expand conv and
// its norm, the depthwise conv and its norm, squeeze-excitation, the
// projection's inputs) or the final 1x1 head (its norm, the image
// projection's inputs). Channels on the residual path are coupled across
// blocks and are left alone. Norm layers the hypernetwork generates add the
// matching rows of its output head.
import { MBConv } from '../models/image/blocks.js';
import type { HyperClip } from '../models/index.js';

/** One tensor slice of a group: tensor `key` along dimension `dim`. */
export interface TensorSlice { key: string; dim: number }

export interface ChannelGroup {
  /** 'blocks.3' or 'head'. */
  id: string;
  /** Index of the MBConv block, or -1 for the head. */
  block: number;
  channels: number;
  slices: TensorSlice[];
  /** The norm layers of the group in forward order (their scales give the BN saliency; the last one feeds what follows). */
  norms: string[];
}

const normTensors = (norm: string): TensorSlice[] =>
  ['weight', 'bias', 'runningMean', 'runningVar'].map((t) => ({ key: `${norm}.${t}`, dim: 0 }));

/** Every prunable group, blocks in forward order then the head; throws when the encoder has none. */
export function channelGroups(model: HyperClip): ChannelGroup[] {
  const encoder = model.imageEncoder as unknown as { blocks?: unknown[] };
  const family = model.config.image.family;
  if (family === 'resnet' || family === 'mobilenetv1' || !Array.isArray(encoder.blocks)) {
    throw new Error(`the ${family} image encoder has no prunable channel groups: channel pruning supports the MBConv families (efficientnet, mobilenetv3, mobilenetv2)`);
  }
  const groups: ChannelGroup[] = [];
  encoder.blocks.forEach((block, i) => {
    if (!(block instanceof MBConv) || block.expandConv === null) return;
    const p = `imageEncoder.blocks.${i}`;
    const slices: TensorSlice[] = [
      { key: `${p}.expandConv.conv.weight`, dim: 0 }, ...normTensors(`${p}.expandConv.norm`),
      { key: `${p}.depthwise.conv.weight`, dim: 0 }, ...normTensors(`${p}.depthwise.norm`),
      { key: `${p}.project.conv.weight`, dim: 1 },
    ];
    if (block.se !== null) {
      slices.push({ key: `${p}.se.reduce.weight`, dim: 1 }, { key: `${p}.se.expand.weight`, dim: 0 }, { key: `${p}.se.expand.bias`, dim: 0 });
    }
    groups.push({ id: `blocks.${i}`, block: i, channels: block.depthwise.norm.channels, slices, norms: [`${p}.expandConv.norm`, `${p}.depthwise.norm`] });
  });
  groups.push({
    id: 'head', block: -1, channels: model.imageEncoder.featureDim,
    slices: [{ key: 'imageEncoder.head.conv.weight', dim: 0 }, ...normTensors('imageEncoder.head.norm'), { key: 'imageProjection.weight', dim: 1 }],
    norms: ['imageEncoder.head.norm'],
  });
  return groups;
}

/** Rows of the hypernetwork's output head per generated norm layer: [scale offset, shift offset, channels]. */
export function hypernetRows(model: HyperClip): Map<string, { scale: number; shift: number; channels: number }> {
  const rows = new Map<string, { scale: number; shift: number; channels: number }>();
  let offset = 0;
  for (const layer of model.hypernet?.targets ?? []) {
    rows.set(`imageEncoder.${layer.name}`, { scale: offset, shift: offset + layer.channels, channels: layer.channels });
    offset += 2 * layer.channels;
  }
  return rows;
}
