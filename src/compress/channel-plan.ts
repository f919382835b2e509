// Which channels to keep for a FLOPs target: channels leave in units of a
// few at a time, cheapest to lose first, where the price of a unit is its
// saliency per multiply-add it saves. Every group keeps a floor of its
// channels, so no layer collapses. Saliencies compare across groups either
// as they are ('global': a Taylor score estimates the loss change of
// removing the channel, a quantity every group shares) or normalised by
// their group's mean ('group': for scores whose scale differs by layer, as
// BN scales do; it treats every group as equally important on average, so
// the groups with the most multiply-adds per channel, the high-resolution
// early blocks, go to their floor first).
import type { HyperClip } from '../models/index.js';
import { channelGroups, type ChannelGroup } from './channel-groups.js';
import type { KeepPlan } from './channel-surgery.js';
import { classifierCost } from './flops.js';

export interface PlanOptions {
  /** Target multiply-adds as a fraction of the model's, in (0, 1). */
  flopsRatio: number;
  /** Channels removed together (kept widths stay multiples of it where the dense ones are). */
  granularity?: number;
  /** Smallest fraction of a group's channels that stays. */
  minKeepFraction?: number;
  /** How saliencies of different groups compare (default 'group'). */
  saliencyScale?: SaliencyScale;
}

export const SALIENCY_SCALES = ['group', 'global'] as const;
export type SaliencyScale = typeof SALIENCY_SCALES[number];

export interface ChannelPlan {
  keep: KeepPlan;
  /** Predicted multiply-adds of the pruned classifier, and of the dense one. */
  macs: number;
  denseMacs: number;
}

/** Multiply-adds each channel of a group costs (the encoder's arithmetic is linear in every group's width). */
export function macsPerChannel(model: HyperClip, groups: ChannelGroup[] = channelGroups(model)): Map<string, number> {
  const layers = new Map(classifierCost(model).layers.map((l) => [l.name, l.macs]));
  const state = model.stateDict();
  const out = new Map<string, number>();
  for (const group of groups) {
    let macs = 0;
    for (const { key, dim } of group.slices) {
      if (!key.endsWith('.weight') || key.includes('.norm.')) continue;
      const layer = layers.get(key.replace(/\.weight$/, ''));
      if (layer !== undefined) macs += layer / state.get(key)!.shape[dim]!;
    }
    out.set(group.id, macs);
  }
  return out;
}

export function checkSaliencyScale(scale: string): asserts scale is SaliencyScale {
  if (!(SALIENCY_SCALES as readonly string[]).includes(scale)) throw new Error(`unknown saliency scale "${scale}": expected ${SALIENCY_SCALES.join(', ')}`);
}

export function checkFlopsRatio(ratio: number): void {
  if (!(typeof ratio === 'number' && ratio > 0 && ratio < 1)) {
    throw new Error(`expected a FLOPs ratio between 0 and 1 (e.g. 0.5 keeps half the multiply-adds) but received ${ratio}`);
  }
}

/** scores: one saliency per channel of each group (higher = more important). */
export function planChannels(model: HyperClip, scores: Map<string, Float32Array>, options: PlanOptions): ChannelPlan {
  checkFlopsRatio(options.flopsRatio);
  const granularity = options.granularity ?? 8;
  const minKeep = options.minKeepFraction ?? 0.25;
  const scale = options.saliencyScale ?? 'group';
  checkSaliencyScale(scale);
  const groups = channelGroups(model);
  const cost = macsPerChannel(model, groups);
  const denseMacs = classifierCost(model).macs;
  const meanCost = [...cost.values()].reduce((a, b) => a + b, 0) / cost.size;
  const state = groups.map((g) => {
    const s = scores.get(g.id);
    if (s === undefined || s.length !== g.channels) throw new Error(`saliency of group ${g.id} must hold ${g.channels} scores`);
    const mean = scale === 'global' ? 1 : s.reduce((a, b) => a + b, 0) / g.channels || 1;
    const order = Array.from({ length: g.channels }, (_, c) => c).sort((a, b) => s[a]! - s[b]!); // least important first
    return { group: g, order, removed: 0, floor: Math.max(1, Math.ceil(minKeep * g.channels)), normalized: (c: number) => s[c]! / mean };
  });
  let macs = denseMacs;
  const target = options.flopsRatio * denseMacs;
  while (macs > target) {
    let best: (typeof state)[number] | null = null, bestPrice = Infinity, bestCount = 0;
    for (const g of state) {
      const count = Math.min(granularity, g.group.channels - g.removed - g.floor);
      if (count <= 0) continue;
      let saliency = 0;
      for (let k = 0; k < count; k++) saliency += g.normalized(g.order[g.removed + k]!);
      const price = saliency / (count * cost.get(g.group.id)! / meanCost);
      if (price < bestPrice) { best = g; bestPrice = price; bestCount = count; }
    }
    if (best === null) {
      throw new Error(`cannot reach ${options.flopsRatio} of the FLOPs: pruning every group to ${Math.round(100 * minKeep)}% of its channels leaves ${(macs / denseMacs).toFixed(3)}`);
    }
    best.removed += bestCount;
    macs -= bestCount * cost.get(best.group.id)!;
  }
  const keep: KeepPlan = new Map();
  for (const g of state) if (g.removed > 0) keep.set(g.group.id, g.order.slice(g.removed).sort((a, b) => a - b));
  return { keep, macs, denseMacs };
}
