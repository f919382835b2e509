// Optimisers over parameter groups. Their state (moments, step) is ordinary
// tensors and numbers, so a checkpoint saves and restores it exactly.
import { native } from './native.js';
import { zerosLike, type Tensor } from './tensor.js';
import { keep } from './scope.js';

export interface ParamGroup {
  params: Tensor[];
  /** Overrides the optimiser's weight decay for this group (0 for biases and norms). */
  weightDecay?: number;
  /** Multiplies the optimiser's learning rate for this group (e.g. 0.1 to tune a pre-trained part slowly). */
  lrScale?: number;
}

export interface OptimizerState {
  step: number;
  lr: number;
  /** Per-parameter state tensors, named `<group>.<index>.<slot>`. */
  tensors: Map<string, Tensor>;
}

abstract class Optimizer {
  /** The learning rate of the next step; a schedule sets it every step. */
  lr: number;
  stepCount = 0;
  protected readonly groups: Required<ParamGroup>[];

  constructor(groups: ParamGroup[] | Tensor[], lr: number, defaultWeightDecay: number) {
    if (!(lr >= 0)) throw new Error(`expected a non-negative learning rate, got ${lr}`);
    const list: ParamGroup[] = groups.length > 0 && 'params' in (groups[0] as object) ? (groups as ParamGroup[]) : [{ params: groups as Tensor[] }];
    this.groups = list.map((g) => ({ params: g.params, weightDecay: g.weightDecay ?? defaultWeightDecay, lrScale: g.lrScale ?? 1 }));
    for (const g of this.groups) if (!(g.lrScale >= 0)) throw new Error(`expected a non-negative lrScale for a parameter group, got ${g.lrScale}`);
    if (this.groups.every((g) => g.params.length === 0)) throw new Error('optimiser got no parameters');
    this.lr = lr;
  }

  protected slots(count: number): Tensor[][][] {
    return this.groups.map((g) => g.params.map((p) => Array.from({ length: count }, () => keep(zerosLike(p)))));
  }

  /** Drops every gradient (as set_to_none in PyTorch). */
  zeroGrad(): void {
    for (const g of this.groups) native().zeroGrad(g.params.map((p) => p.handle));
  }

  allParams(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Releases the native memory of the optimiser's state (moments, momentum buffers). */
  dispose(): void {
    for (const group of this.stateSlots()) for (const slots of group) for (const t of slots) t.dispose();
  }

  abstract step(): void;
  protected abstract stateSlots(): Tensor[][][];
  protected abstract slotNames(): string[];

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    const names = this.slotNames();
    this.stateSlots().forEach((group, gi) => group.forEach((slots, pi) => slots.forEach((t, si) => tensors.set(`${gi}.${pi}.${names[si]}`, t))));
    return { step: this.stepCount, lr: this.lr, tensors };
  }

  loadStateDict(state: OptimizerState): void {
    const names = this.slotNames();
    this.stateSlots().forEach((group, gi) => group.forEach((slots, pi) => slots.forEach((t, si) => {
      const key = `${gi}.${pi}.${names[si]}`;
      const source = state.tensors.get(key);
      if (source === undefined) throw new Error(`optimiser state is missing ${key}: was it saved for a different model?`);
      t.copy_(source);
    })));
    this.stepCount = state.step;
    this.lr = state.lr;
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** AdamW with decoupled weight decay, matching torch.optim.AdamW. */
export class AdamW extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly moments: Tensor[][][];

  constructor(groups: ParamGroup[] | Tensor[], options: AdamWOptions) {
    super(groups, options.lr, options.weightDecay ?? 0.01);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.moments = this.slots(2);
  }

  step(): void {
    this.stepCount++;
    this.groups.forEach((g, gi) => {
      const slots = this.moments[gi]!;
      native().adamwStep(g.params.map((p) => p.handle), slots.map((s) => s[0]!.handle), slots.map((s) => s[1]!.handle), {
        lr: this.lr * g.lrScale, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: g.weightDecay, step: this.stepCount,
      });
    });
  }

  protected stateSlots(): Tensor[][][] { return this.moments; }
  protected slotNames(): string[] { return ['expAvg', 'expAvgSq']; }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** SGD with momentum (L2 weight decay added to the gradient), matching torch.optim.SGD. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  private readonly buffers: Tensor[][][];

  constructor(groups: ParamGroup[] | Tensor[], options: SGDOptions) {
    super(groups, options.lr, options.weightDecay ?? 0);
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.buffers = this.slots(1);
  }

  step(): void {
    this.stepCount++;
    this.groups.forEach((g, gi) => {
      native().sgdStep(g.params.map((p) => p.handle), this.buffers[gi]!.map((s) => s[0]!.handle), {
        lr: this.lr * g.lrScale, momentum: this.momentum, weightDecay: g.weightDecay, nesterov: this.nesterov, first: this.stepCount === 1,
      });
    });
  }

  protected stateSlots(): Tensor[][][] { return this.buffers; }
  protected slotNames(): string[] { return ['momentum']; }
}

/** Scales gradients so their joint 2-norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return native().clipGradNorm(params.map((p) => p.handle), maxNorm);
}
