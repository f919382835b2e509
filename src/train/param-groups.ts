import type { Module, ParamGroup, Tensor } from '../engine/index.js';

/**
 * Weight decay on matrices and kernels only: biases, norm scales, the logit
 * scale and bias (anything with fewer than 2 dimensions) are excluded, as in
 * OpenCLIP.
 */
export function weightDecayGroups(model: Module, weightDecay: number): ParamGroup[] {
  const decay: Tensor[] = [], noDecay: Tensor[] = [];
  for (const [, p] of model.namedParameters()) (p.ndim < 2 ? noDecay : decay).push(p);
  return [{ params: decay, weightDecay }, { params: noDecay, weightDecay: 0 }];
}
