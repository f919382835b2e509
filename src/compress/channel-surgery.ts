// Channel surgery: a new, physically smaller model that keeps the chosen
// channels of each group. The pruned config lists the surviving widths
// (image.channels), every tensor of a group is cut along its channel
// dimension, and the hypernetwork's output head loses the rows that
// generated the removed norm channels. The result saves, loads, trains,
// evaluates and exports as any model.
import { noGrad, tensor, type Tensor } from '../engine/index.js';
import { HyperClip, validateConfig, type ModelConfig } from '../models/index.js';
import { MBConv } from '../models/image/blocks.js';
import { channelGroups, hypernetRows, type ChannelGroup } from './channel-groups.js';

/** Kept channel indices per group id; a group left out keeps all its channels. */
export type KeepPlan = Map<string, number[]>;

/** The config of the model after pruning: the surviving widths written out explicitly. */
export function prunedConfig(model: HyperClip, keep: KeepPlan): ModelConfig {
  const blocks = (model.imageEncoder as unknown as { blocks: MBConv[] }).blocks;
  const expanded = blocks.map((b, i) => keep.get(`blocks.${i}`)?.length ?? b.depthwise.norm.channels);
  const head = keep.get('head')?.length ?? model.imageEncoder.featureDim;
  const config = structuredClone(model.config);
  config.image.channels = { expanded, head };
  return validateConfig(config);
}

/** A new model holding only the kept channels; the source model is left as it was. */
export function pruneChannels(model: HyperClip, keep: KeepPlan): HyperClip {
  const groups = channelGroups(model);
  checkPlan(groups, keep);
  const cuts = new Map<string, { dim: number; index: number[] }[]>();
  for (const group of groups) {
    const kept = keep.get(group.id);
    if (kept === undefined) continue;
    for (const slice of group.slices) cuts.set(slice.key, [...(cuts.get(slice.key) ?? []), { dim: slice.dim, index: kept }]);
  }
  const headRows = keptHypernetRows(model, groups, keep);
  const pruned = new HyperClip(prunedConfig(model, keep));
  pruned.train(model.training);
  const owned: Tensor[] = [];
  const state = new Map<string, Tensor>();
  noGrad(() => {
    for (const [key, t] of model.stateDict()) {
      let value = t;
      const keyCuts = cuts.get(key) ?? [];
      if (headRows !== null && (key === 'hypernet.head.weight' || key === 'hypernet.head.bias')) keyCuts.push({ dim: 0, index: headRows });
      for (const { dim, index } of keyCuts) {
        const indices = tensor(index, [index.length], { dtype: 'int64' });
        value = value.indexSelect(dim, indices);
        owned.push(indices, value);
      }
      state.set(key, value);
    }
  });
  try {
    pruned.loadStateDict(state);
  } finally {
    for (const t of owned) t.dispose();
  }
  return pruned;
}

function checkPlan(groups: ChannelGroup[], keep: KeepPlan): void {
  for (const [id, kept] of keep) {
    const group = groups.find((g) => g.id === id);
    if (group === undefined) throw new Error(`no prunable channel group "${id}": the groups are ${groups.map((g) => g.id).join(', ')}`);
    if (kept.length === 0) throw new Error(`group ${id} would lose all ${group.channels} channels: keep at least one`);
    const sorted = [...kept].sort((a, b) => a - b);
    if (sorted.some((c, i) => !Number.isInteger(c) || c < 0 || c >= group.channels || (i > 0 && c === sorted[i - 1]))) {
      throw new Error(`group ${id}: kept channels must be distinct integers in 0..${group.channels - 1}`);
    }
    kept.sort((a, b) => a - b);
  }
}

/** The hypernetwork head's rows that survive, in order; null when nothing it generates is pruned. */
function keptHypernetRows(model: HyperClip, groups: ChannelGroup[], keep: KeepPlan): number[] | null {
  const rows = hypernetRows(model);
  if (rows.size === 0) return null;
  const keptByNorm = new Map<string, number[]>();
  for (const group of groups) {
    const kept = keep.get(group.id);
    if (kept !== undefined) for (const norm of group.norms) keptByNorm.set(norm, kept);
  }
  if (![...keptByNorm.keys()].some((norm) => rows.has(norm))) return null;
  const out: number[] = [];
  for (const [norm, { scale, shift, channels }] of rows) {
    const kept = keptByNorm.get(norm) ?? Array.from({ length: channels }, (_, c) => c);
    for (const c of kept) out.push(scale + c);
    for (const c of kept) out.push(shift + c);
  }
  return out;
}
