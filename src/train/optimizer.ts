// The optimiser of a training run, over the parameters that train.
import { AdamW, type Module } from '../engine/index.js';
import { trainableParameters, weightDecayGroups } from './param-groups.js';
import type { TrainConfig } from './recipes.js';

/** AdamW with weight decay on matrices and kernels only (also used by the benches and AdaSAP). */
export function createOptimizer(model: Module, config: TrainConfig): AdamW {
  const params = trainableParameters(model, config.freeze ?? []);
  return new AdamW(weightDecayGroups(params, config.weightDecay, config.lrScale), { lr: config.lr, weightDecay: config.weightDecay, betas: [0.9, 0.98], eps: 1e-6 });
}
