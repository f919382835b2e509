// AdaSAP's adaptive radius (Bair et al. 2023): during the warm-up every
// prunable channel gets its own SAM radius, small for the channels that
// matter and large for the ones about to be pruned, so the network learns to
// be flat (robust) in exactly the directions pruning will take. Within a
// group the channels are ranked by saliency and the radius falls linearly
// with the rank, from rhoMax (least salient) to rhoMin (most salient).
import { noGrad, tensor, type Module, type Tensor } from '../engine/index.js';
import type { ChannelGroup } from './channel-groups.js';

/** One radius per channel: rhoMax for the least salient, rhoMin for the most, linear in the saliency rank between (ties by channel index). */
export function radiusBySaliency(saliency: ArrayLike<number>, rhoMin: number, rhoMax: number): Float32Array {
  const channels = saliency.length;
  const order = Array.from({ length: channels }, (_, c) => c).sort((a, b) => saliency[a]! - saliency[b]! || a - b); // least salient first
  const radius = new Float32Array(channels);
  order.forEach((c, rank) => {
    const importance = channels === 1 ? 1 : rank / (channels - 1); // 0 least salient .. 1 most
    radius[c] = rhoMax - (rhoMax - rhoMin) * importance;
  });
  return radius;
}

/**
 * The radii as multipliers of the SAM radius rho on every parameter slice of
 * a channel (a Perturbation of kind 'channel', src/compress/sam.ts), refreshed
 * from the running saliency as the warm-up goes.
 */
export class ChannelRadii {
  readonly multipliers = new Map<string, Tensor>();
  private readonly paramShapes: Map<string, number[]>;

  constructor(model: Module, private readonly groups: ChannelGroup[], private readonly radii: { rho: number; rhoMin: number; rhoMax: number }) {
    this.paramShapes = new Map([...model.namedParameters()].map(([name, t]) => [name, t.shape]));
  }

  update(scores: Map<string, Float32Array>): void {
    this.dispose();
    const { rho, rhoMin, rhoMax } = this.radii;
    for (const group of this.groups) {
      const saliency = scores.get(group.id);
      if (saliency === undefined || saliency.length !== group.channels) throw new Error(`saliency of group ${group.id} must hold ${group.channels} scores`);
      const multiplier = radiusBySaliency(saliency, rhoMin, rhoMax).map((r) => r / rho);
      for (const { key, dim } of group.slices) {
        const shape = this.paramShapes.get(key);
        if (shape === undefined) continue; // running statistics are buffers, not perturbed
        const broadcast = shape.map((d, i) => (i === dim ? d : 1));
        this.multipliers.set(key, noGrad(() => tensor(multiplier, broadcast)));
      }
    }
  }

  dispose(): void {
    for (const t of this.multipliers.values()) t.dispose();
    this.multipliers.clear();
  }
}
