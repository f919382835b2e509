// The recipe's objective, chosen once; the trainer never asks which it is.
import type { TrainConfig } from '../recipes.js';
import { createClassifyObjective } from './classify.js';
import { createContrastiveObjective } from './contrastive.js';
import type { ObjectiveSetup, TrainingObjective } from './objective.js';

/** Builds the objective and its optimiser before the run folder exists, so a bad recipe leaves nothing behind. */
export function createObjective(config: TrainConfig, setup: ObjectiveSetup): TrainingObjective {
  return config.objective === 'classify' ? createClassifyObjective(config, setup) : createContrastiveObjective(config, setup);
}
