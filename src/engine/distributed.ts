// A process group over c10d, PyTorch's distributed engine: TCPStore
// rendezvous, then Gloo (CPU) or NCCL (CUDA) collectives. Generic: it moves
// tensors between processes and knows nothing of models or training.
// Collectives block until every rank has joined them or the timeout passes;
// a dead or stuck peer then becomes an Error naming the collective and rank.
// allReduceAsync only launches: its wait() is where that blocking happens.
// Every rank must issue the group's collectives in the same order.
import { native, type ProcessGroupHandle } from './native.js';
import { Tensor, tensor, type Device } from './tensor.js';

export type DistributedBackend = 'gloo' | 'nccl';
export type CollectiveReduce = 'sum' | 'average';

/** A collective in flight. */
export interface CollectiveWork {
  /** Blocks until it is done (or throws as a blocking collective would); then its tensor holds the result. A second call does nothing. */
  wait(): void;
}

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  /** Address of rank 0, where the TCPStore listens. */
  masterAddr: string;
  masterPort: number;
  /** For the rendezvous and every collective. */
  timeoutMs: number;
  backend?: DistributedBackend;
  /** Where this rank's tensors live (NCCL: its GPU); small helper tensors are made there. */
  device?: Device;
  /** Network interface for Gloo (GLOO_SOCKET_IFNAME); default: the host's address, loopback for a local master. */
  glooInterface?: string;
}

const BACKENDS: Record<DistributedBackend, number> = { gloo: 0, nccl: 1 };
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Whether this addon can create NCCL groups (a CUDA libtorch build). */
export const ncclAvailable = (): boolean => native().distNcclAvailable();

function check(o: ProcessGroupOptions): void {
  const whole = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!whole(o.worldSize, 1)) throw new Error(`expected a world size >= 1 but received ${o.worldSize}`);
  if (!whole(o.rank, 0) || o.rank >= o.worldSize) throw new Error(`expected a rank between 0 and ${o.worldSize - 1} but received ${o.rank}`);
  if (!whole(o.masterPort, 1) || o.masterPort > 65535) throw new Error(`expected a master port between 1 and 65535 but received ${o.masterPort}`);
  if (!(o.timeoutMs > 0)) throw new Error(`expected a positive timeout but received ${o.timeoutMs} ms`);
  if (o.masterAddr.length === 0) throw new Error('expected a master address (host name or IP of rank 0)');
}

export class ProcessGroup {
  private handle: ProcessGroupHandle | null;
  /**
   * Wall-clock seconds this thread has spent blocked in collectives so far
   * (waiting for peers included): a blocking collective's whole call; of an
   * async one, its launch and its wait(), not the time it ran in the background.
   */
  commSeconds = 0;

  private constructor(handle: ProcessGroupHandle, readonly rank: number, readonly worldSize: number, readonly backend: DistributedBackend,
    readonly device: Device) {
    this.handle = handle;
  }

  /** Joins the group: returns once all worldSize ranks have connected (or throws after the timeout). */
  static connect(options: ProcessGroupOptions): ProcessGroup {
    check(options);
    const backend = options.backend ?? 'gloo';
    const glooInterface = options.glooInterface ?? process.env.GLOO_SOCKET_IFNAME ?? '';
    const glooHostname = LOOPBACK.has(options.masterAddr) ? '127.0.0.1' : '';
    const handle = native().distConnect(options.masterAddr, options.masterPort, options.rank, options.worldSize,
      Math.round(options.timeoutMs), BACKENDS[backend], glooHostname, glooInterface);
    return new ProcessGroup(handle, options.rank, options.worldSize, backend, options.device ?? 'cpu');
  }

  /** Copies root's values into each tensor on every rank, in place. */
  broadcast(tensors: Tensor[], root = 0): void {
    this.timed(() => native().distBroadcast(this.live(), tensors.map((t) => t.handle), root));
  }

  /** Replaces x by the sum (or the average) of x over the ranks, in place. */
  allReduce(x: Tensor, op: CollectiveReduce = 'sum'): void {
    this.timed(() => native().distAllReduce(this.live(), x.handle, op === 'sum' ? 0 : 1));
  }

  /**
   * Launches the sum (or average) of x over the ranks and returns at once;
   * x must not be read or written until the work's wait() has returned.
   */
  allReduceAsync(x: Tensor, op: CollectiveReduce = 'sum'): CollectiveWork {
    const work = this.timed(() => native().distAllReduceAsync(this.live(), x.handle, op === 'sum' ? 0 : 1));
    return { wait: () => this.timed(() => native().distWorkWait(work)) };
  }

  /** Every rank's x (same shape and dtype everywhere), in rank order. */
  allGather(x: Tensor): Tensor[] {
    return this.timed(() => native().distAllGather(this.live(), x.handle)).map((h) => new Tensor(h));
  }

  /** Every rank's bytes (any lengths), in rank order: lengths first, then the padded bytes. */
  allGatherBytes(bytes: Uint8Array): Uint8Array[] {
    const here = (t: Tensor): Tensor => (this.device === 'cpu' ? t : t.to(this.device));
    const lengths = this.allGather(here(tensor([bytes.length], [1], { dtype: 'int64' }))).map((t) => t.item());
    const longest = Math.max(...lengths, 1);
    const padded = new Uint8Array(longest);
    padded.set(bytes);
    return this.allGather(here(tensor(padded, [longest], { dtype: 'uint8' })))
      .map((t, r) => new Uint8Array(t.data() as Uint8Array).slice(0, lengths[r]));
  }

  barrier(): void {
    this.timed(() => native().distBarrier(this.live()));
  }

  /** Leaves the group; further calls throw. */
  close(): void {
    if (this.handle !== null) native().distClose(this.handle);
    this.handle = null;
  }

  private timed<T>(collective: () => T): T {
    const started = performance.now();
    try {
      return collective();
    } finally {
      this.commSeconds += (performance.now() - started) / 1000;
    }
  }

  private live(): ProcessGroupHandle {
    if (this.handle === null) throw new Error(`process group of rank ${this.rank} is closed`);
    return this.handle;
  }
}
