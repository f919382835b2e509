// The data-parallel gradient reduction overlapped with backward, as PyTorch's
// DDP does it: parameters are grouped into flat buckets in reverse
// registration order (backward reaches the last layers first), a hook on
// each parameter copies its gradient into its bucket as soon as autograd has
// accumulated it, and a full bucket's all-reduce is launched at once, to run
// on c10d's threads while backward goes on. After backward, finish() fills
// in the parameters that got no gradient (zeros), launches the rest, waits
// for all, and copies the sums back into the gradients.
//
// The result is reduceGradients' (src/train/distributed-step.ts) to the bit
// on 2 ranks: the same sums of the same values, the replicated parameters
// (the logit scale and bias) scaled by 1 / worldSize first, and every
// parameter reduced, a zero gradient where backward gave none.
//
// Buckets launch in index order only: a full bucket waits for the ones
// before it. So every rank issues its collectives in one order whatever the
// order its gradients arrive in, and a parameter that gets no gradient on
// one rank delays the reduction (to finish()) but never deadlocks it.
import { keep, noGrad, onGradReady, tidy, zeros, type CollectiveWork, type GradReadyHook, type ProcessGroup, type Tensor } from '../engine/index.js';
import { gradientBuckets } from './distributed-step.js';

/** Buckets of about 1 MB (DDP's first bucket): the tiny presets have only a few MB of parameters, and a bucket overlaps only once full. */
export const OVERLAP_BUCKET_ELEMENTS = 1 << 18;

interface Bucket {
  params: Tensor[];
  /** [sum of numel]: what the all-reduce sums in place. */
  flat: Tensor;
  /** Each parameter's slice of flat, in its shape. */
  views: Tensor[];
  ready: boolean[];
  missing: number;
  work: CollectiveWork | null;
}

export interface ReducerStats {
  steps: number;
  buckets: number;
  /** Bucket launches before backward returned, over all steps: the overlapped ones. */
  launchedDuringBackward: number;
}

export class OverlappedReducer {
  private readonly buckets: Bucket[];
  private readonly hooks: GradReadyHook[] = [];
  /** The next bucket to launch: buckets launch in index order. */
  private next = 0;
  private readonly stats: ReducerStats;
  /** Set when a step's reduction failed: its collectives may still be in flight on the buckets. */
  private failure: string | null = null;
  private closed = false;

  constructor(private readonly group: ProcessGroup, params: readonly Tensor[], private readonly replicated: ReadonlySet<Tensor>,
    bucketElements = OVERLAP_BUCKET_ELEMENTS) {
    for (const p of params) {
      if (p.device !== 'cpu' || p.dtype !== 'float32') {
        throw new Error(`the overlapped all-reduce takes float32 parameters on the CPU, got ${p.dtype} on ${p.device} (${p.name ?? JSON.stringify(p.shape)}): ` +
          'drop overlapAllReduce (--overlap-allreduce) for this run');
      }
    }
    this.buckets = gradientBuckets([...params].reverse(), bucketElements).map((members) => noGrad(() => {
      const flat = keep(zeros([members.reduce((n, p) => n + p.numel, 0)])); // [sum numel]
      let offset = 0;
      const views = members.map((p) => {
        const view = keep(flat.narrow(0, offset, p.numel).reshape(p.shape));
        offset += p.numel;
        return view;
      });
      return { params: members, flat, views, ready: members.map(() => false), missing: members.length, work: null };
    }));
    this.buckets.forEach((bucket, b) => bucket.params.forEach((p, i) => this.hooks.push(onGradReady(p, () => this.gradReady(b, i)))));
    this.stats = { steps: 0, buckets: this.buckets.length, launchedDuringBackward: 0 };
  }

  /** During backward: parameter i of bucket b has its gradient. */
  private gradReady(b: number, i: number): void {
    this.usable();
    const bucket = this.buckets[b]!;
    if (bucket.ready[i]) {
      throw new Error(`the gradient of ${bucket.params[i]!.name ?? 'a parameter'} was accumulated twice before the reduction finished: ` +
        'one backward per step, then reduceGradients (a backward that failed half-way leaves the reducer unusable)');
    }
    this.take(bucket, i);
    this.launchFull();
  }

  /** Copies parameter i's gradient (zeros where it has none, which then becomes its gradient) into its bucket. */
  private take(bucket: Bucket, i: number): void {
    noGrad(() => tidy(() => {
      const p = bucket.params[i]!;
      if (p.grad === null) p.grad = zeros(p.shape);
      const view = bucket.views[i]!;
      view.copy_(p.grad!);
      if (this.replicated.has(p)) view.mul_(1 / this.group.worldSize);
    }));
    bucket.ready[i] = true;
    bucket.missing--;
  }

  private launchFull(): void {
    while (this.next < this.buckets.length && this.buckets[this.next]!.missing === 0) {
      const bucket = this.buckets[this.next++]!;
      bucket.work = this.group.allReduceAsync(bucket.flat, 'sum');
      this.stats.launchedDuringBackward++;
    }
  }

  /** After backward: launches what is left, waits for every bucket and writes the sums into the gradients. */
  finish(): void {
    this.usable();
    try {
      for (let b = this.next; b < this.buckets.length; b++) {
        const bucket = this.buckets[b]!;
        bucket.ready.forEach((ready, i) => { if (!ready) this.take(bucket, i); });
        bucket.work = this.group.allReduceAsync(bucket.flat, 'sum');
      }
      this.next = this.buckets.length;
      noGrad(() => {
        for (const bucket of this.buckets) {
          bucket.work!.wait();
          tidy(() => bucket.params.forEach((p, i) => p.grad!.copy_(bucket.views[i]!)));
        }
      });
      this.stats.steps++;
      this.reset();
    } catch (error) {
      this.failure = (error as Error).message;
      throw error;
    }
  }

  private usable(): void {
    if (this.closed) throw new Error('the overlapped gradient reducer is closed: its hooks are removed');
    if (this.failure !== null) throw new Error(`the overlapped gradient reduction failed in an earlier step (${this.failure}): start the run again`);
  }

  /** Per-step figures since construction (bench:distributed). */
  get figures(): Readonly<ReducerStats> {
    return { ...this.stats };
  }

  /** Removes the hooks and frees the buckets (after their collectives, if a failed step left some in flight); the reducer is unusable afterwards. */
  close(): void {
    for (const hook of this.hooks) hook.remove();
    this.closed = true;
    for (const bucket of this.buckets) {
      try { bucket.work?.wait(); } catch { /* the step that launched it has already failed with this error */ }
      bucket.views.forEach((v) => v.dispose());
      bucket.flat.dispose();
    }
  }

  private reset(): void {
    for (const bucket of this.buckets) {
      bucket.ready.fill(false);
      bucket.missing = bucket.params.length;
      bucket.work = null;
    }
    this.next = 0;
  }
}
