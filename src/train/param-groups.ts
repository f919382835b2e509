import type { Module, ParamGroup, Tensor } from '../engine/index.js';

/**
 * The parameters that train: all but those whose name starts with one of the
 * `frozen` prefixes (e.g. "textEncoder.tokenEmbedding", as OpenCLIP's
 * --lock-text freezes a tower). Frozen parameters stop requiring gradients,
 * so backward skips them and the optimizer never sees them. A prefix that
 * names no parameter is a typo, not a no-op: it throws.
 */
export function trainableParameters(model: Module, frozen: readonly string[] = []): [string, Tensor][] {
  const named = [...model.namedParameters()];
  for (const prefix of frozen) {
    if (!named.some(([name]) => matches(name, prefix))) {
      const tops = [...new Set(named.map(([name]) => name.split('.')[0]))].join(', ');
      throw new Error(`freeze: no parameter is named "${prefix}" or starts with "${prefix}."; names start with ${tops}`);
    }
  }
  const trainable: [string, Tensor][] = [];
  for (const [name, p] of named) {
    if (frozen.some((prefix) => matches(name, prefix))) p.requiresGrad = false;
    else trainable.push([name, p]);
  }
  if (trainable.length === 0) throw new Error('freeze: every parameter is frozen; nothing would train');
  return trainable;
}

/**
 * Weight decay on matrices and kernels only: biases, norm scales, the logit
 * scale and bias (anything with fewer than 2 dimensions) are excluded, as in
 * OpenCLIP.
 */
export function weightDecayGroups(params: readonly [string, Tensor][], weightDecay: number): ParamGroup[] {
  const decay: Tensor[] = [], noDecay: Tensor[] = [];
  for (const [, p] of params) (p.ndim < 2 ? noDecay : decay).push(p);
  return [{ params: decay, weightDecay }, { params: noDecay, weightDecay: 0 }];
}

/** Whole dotted components only: "textEncoder.token" does not freeze "textEncoder.tokenEmbedding". */
function matches(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(prefix.endsWith('.') ? prefix : `${prefix}.`);
}
