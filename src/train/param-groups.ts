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
export function weightDecayGroups(params: readonly [string, Tensor][], weightDecay: number, lrScale: Readonly<Record<string, number>> = {}): ParamGroup[] {
  const prefixes = Object.keys(lrScale);
  const unused = prefixes.filter((prefix) => !params.some(([name]) => matches(name, prefix)));
  if (unused.length > 0) throw new Error(`lrScale: no trainable parameter is named "${unused[0]}" or starts with "${unused[0]}."`);
  // One decay and one no-decay group per learning-rate scale, in a fixed order so checkpoints line up.
  const scaleOf = (name: string): number => {
    const prefix = prefixes.filter((p) => matches(name, p)).sort((a, b) => b.length - a.length)[0];
    return prefix === undefined ? 1 : lrScale[prefix]!;
  };
  const scales = [...new Set([1, ...prefixes.map((p) => lrScale[p]!)])];
  const groups: ParamGroup[] = [];
  for (const scale of scales) {
    const decay: Tensor[] = [], noDecay: Tensor[] = [];
    for (const [name, p] of params) if (scaleOf(name) === scale) (p.ndim < 2 ? noDecay : decay).push(p);
    if (scale === 1 || decay.length > 0) groups.push({ params: decay, weightDecay, ...(scale === 1 ? {} : { lrScale: scale }) });
    if (scale === 1 || noDecay.length > 0) groups.push({ params: noDecay, weightDecay: 0, ...(scale === 1 ? {} : { lrScale: scale }) });
  }
  return groups;
}

/** Whole dotted components only: "textEncoder.token" does not freeze "textEncoder.tokenEmbedding". */
export function matches(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(prefix.endsWith('.') ? prefix : `${prefix}.`);
}
