// Where a trainer's step spends its time: the step's parts (the frozen
// prefix, the text encoder, the hypernetwork, the image encoder after the
// prefix, the distillation teacher, backward, the optimiser) timed by
// wrapping the methods that run them, on a clock the caller picks (CPU time
// of all threads, or wall time). Used by bench:train-overhead on one batch
// and by bench:train --phases on the real, changing batches.
import { Tensor } from '../../src/engine/index.js';
import { HeadDistillation } from '../../src/train/distill.js';
import type { TrainParts } from '../../src/train/trainer.js';

/** The phases of a step, in report order; "other" is the step's time outside them (loss arithmetic, tokenising, clipping). */
export const PHASES = ['prefix (no grad)', 'text forward', 'hypernetwork forward', 'image after prefix, forward', 'teacher logits (no grad)',
  'backward', 'optimizer', 'other'] as const;
export type Phase = (typeof PHASES)[number];
export type Phases = Map<Phase, number>;

/** CPU milliseconds of the whole process (every thread: libtorch's and the decoding workers'). */
export const cpuMs = (): number => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

/**
 * Adds each phase's time to the map set in `current` (nothing while it is
 * null). Install on a step's parts, run steps, then restore() puts every
 * wrapped method back.
 */
export class StepPhaseTimer {
  current: Phases | null = null;
  private readonly undo: (() => void)[] = [];

  constructor(private readonly now: () => number) {}

  /** Times the parts of one recipe's step; the teacher and backward hooks are shared by every recipe, so they go in once. */
  install(parts: TrainParts): void {
    const { model, objective } = parts;
    if (this.undo.length === 0) {
      this.wrap(HeadDistillation.prototype, 'teacherLogits', 'teacher logits (no grad)');
      this.wrap(Tensor.prototype, 'backward', 'backward');
    }
    this.wrap(model.imageEncoder, 'forwardPrefix', 'prefix (no grad)');
    this.wrap(model.imageEncoder, 'forwardFrom', 'image after prefix, forward');
    this.wrap(model, 'encodeText', 'text forward');
    if (model.hypernet !== null) this.wrap(model.hypernet, 'forward', 'hypernetwork forward');
    this.wrap(objective.optimizer, 'step', 'optimizer');
  }

  restore(): void {
    for (const undo of this.undo.splice(0).reverse()) undo();
  }

  /** Runs fn with `into` as the current map and adds the time outside the named phases as "other". */
  timed<T>(into: Phases, fn: () => T): T {
    const named = (): number => PHASES.reduce((sum, p) => sum + (p === 'other' ? 0 : into.get(p) ?? 0), 0);
    const [start, namedBefore] = [this.now(), named()];
    this.current = into;
    try {
      return fn();
    } finally {
      this.current = null;
      const outside = this.now() - start - (named() - namedBefore);
      into.set('other', (into.get('other') ?? 0) + outside);
    }
  }

  /** Wraps obj[name] so that its time adds to phase (outermost call only: a nested call counts once). */
  private wrap(obj: object, name: string, phase: Phase): void {
    const target = obj as Record<string, (...args: unknown[]) => unknown>;
    const fn = target[name];
    if (typeof fn !== 'function') throw new Error(`step phases: ${obj.constructor.name} has no method ${name} to time`);
    const own = Object.prototype.hasOwnProperty.call(target, name);
    let depth = 0;
    const timer = this;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const sink = timer.current;
      const start = depth++ === 0 && sink !== null ? timer.now() : null;
      try {
        return fn.apply(this, args);
      } finally {
        depth--;
        if (start !== null) sink!.set(phase, (sink!.get(phase) ?? 0) + timer.now() - start);
      }
    };
    this.undo.push(() => {
      if (own) target[name] = fn;
      else delete target[name];
    });
  }
}
