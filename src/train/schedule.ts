// Learning-rate schedules: a pure function of the step, so resuming needs only the step.

export interface ScheduleConfig {
  /** Peak learning rate. */
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate as a fraction of the peak. */
  minLrRatio?: number;
}

/** Linear warm-up from 0 to lr, then cosine decay to lr * minLrRatio at totalSteps. `step` counts from 0. */
export function warmupCosine(step: number, config: ScheduleConfig): number {
  const { lr, warmupSteps, totalSteps } = config;
  const floor = lr * (config.minLrRatio ?? 0);
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return floor + 0.5 * (lr - floor) * (1 + Math.cos(Math.PI * progress));
}
