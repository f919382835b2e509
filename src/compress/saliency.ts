// How much each prunable channel matters. Two scores:
// - BN scale: |gamma| of the norm that feeds the rest of the network (Liu et
//   al. 2017, network slimming): a channel scaled to zero carries nothing.
// - First-order Taylor (Molchanov et al. 2019): removing channel c zeroes its
//   norm output y_c = gamma_c * xhat_c + beta_c, which changes the loss by
//   about -sum(dL/dy_c * y_c) = -(gamma_c * dL/dgamma_c + beta_c * dL/dbeta_c),
//   so |gamma g_gamma + beta g_beta| needs only parameter gradients. It is
//   summed over the group's norms and averaged over training batches.
// With a hypernetwork the norm's effective scale is the base plus a
// generated delta; the score uses the base, whose gradient sums over tasks.
import { noGrad, type Tensor } from '../engine/index.js';
import type { HyperClip } from '../models/index.js';
import type { ChannelGroup } from './channel-groups.js';

export type SaliencyKind = 'taylor' | 'bn';
export const SALIENCY_KINDS: readonly SaliencyKind[] = ['taylor', 'bn'];

const values = (t: Tensor): Float32Array => Float32Array.from(t.toArray());

/** |gamma| of each group's last norm. */
export function bnScaleSaliency(model: HyperClip, groups: ChannelGroup[]): Map<string, Float32Array> {
  const state = model.stateDict();
  return new Map(groups.map((g) => [g.id, values(state.get(`${g.norms.at(-1)!}.weight`)!).map(Math.abs)]));
}

/** Sums per-batch Taylor scores from the gradients that backward left on the norm parameters. */
export class TaylorSaliency {
  private readonly sums = new Map<string, Float32Array>();
  private batches = 0;

  constructor(private readonly groups: ChannelGroup[]) {
    for (const g of groups) this.sums.set(g.id, new Float32Array(g.channels));
  }

  /** Call after backward, before the gradients are cleared; a batch whose norms have no gradient is not counted. */
  accumulate(model: HyperClip): void {
    const state = model.stateDict();
    const perGroup = new Map<string, Float32Array>();
    const ok = noGrad(() => this.groups.every((g) => {
      const score = new Float32Array(g.channels);
      for (const norm of g.norms) {
        const gamma = state.get(`${norm}.weight`)!, beta = state.get(`${norm}.bias`)!;
        const gGamma = gamma.grad, gBeta = beta.grad;
        if (gGamma === null || gBeta === null) return false;
        const a = gamma.mul(gGamma), b = beta.mul(gBeta), sum = a.add(b);
        const v = sum.toArray();
        for (let c = 0; c < g.channels; c++) score[c]! += v[c]!;
        for (const t of [gGamma, gBeta, a, b, sum]) t.dispose();
      }
      perGroup.set(g.id, score);
      return true;
    }));
    if (!ok) return;
    for (const [id, score] of perGroup) {
      const sum = this.sums.get(id)!;
      for (let c = 0; c < score.length; c++) sum[c]! += Math.abs(score[c]!);
    }
    this.batches++;
  }

  get count(): number {
    return this.batches;
  }

  /** The running sums by group and the batches counted: what a checkpoint keeps to continue the same average. */
  state(): { sums: Map<string, Float32Array>; count: number } {
    return { sums: new Map([...this.sums].map(([id, s]) => [id, s.slice()])), count: this.batches };
  }

  restore(state: { sums: Map<string, Float32Array>; count: number }): void {
    for (const g of this.groups) {
      const sum = state.sums.get(g.id);
      if (sum === undefined || sum.length !== g.channels) throw new Error(`the saved saliency of group ${g.id} does not hold its ${g.channels} channels`);
      this.sums.get(g.id)!.set(sum);
    }
    this.batches = state.count;
  }

  /** Mean |Taylor| per channel over the accumulated batches. */
  scores(): Map<string, Float32Array> {
    if (this.batches === 0) throw new Error('no Taylor saliency yet: accumulate() after at least one backward pass');
    return new Map([...this.sums].map(([id, s]) => [id, s.map((v) => v / this.batches)]));
  }
}
