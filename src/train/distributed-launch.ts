// Starts the worker processes of one node, as torchrun does: each worker is
// this same command with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR and MASTER_PORT in its environment, and an equal share of the
// cores. If a worker dies, the others are stopped and the launch fails with
// one line naming the worker; the survivors' own collectives fail too (the
// peer's sockets close), within the group timeout at the latest.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** The worker command: node's arguments after the executable (script and its options). */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Told about the first worker failure. */
  onFailure?: (message: string) => void;
}

export interface LaunchResult { code: number; failure: string | null }

/** Seconds the surviving workers get to fail on their own before they are killed. */
const GRACE_MS = 5000;

/** Set in the environment of the workers this launcher starts, so that they do not launch again. */
export const WORKER_MARK = 'HYPERCLIP_LAUNCHED_WORKER';

/** The launch options of `hyperclip train` as typed; `given` names those the user set (not defaults). */
export interface LaunchRequest {
  nprocPerNode?: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  distTimeout?: number;
  given: ReadonlySet<'nnodes' | 'nodeRank' | 'masterAddr' | 'masterPort' | 'distTimeout' | 'nprocPerNode'>;
}

/**
 * What one `hyperclip train` process is: the launcher of this node's workers
 * (--nproc-per-node), a worker (ours, or torchrun's / srun's: RANK in the
 * environment), or a single process. Options that cannot take effect in that
 * role are one error line, never silently ignored.
 */
export function launchRole(request: LaunchRequest, env: NodeJS.ProcessEnv = process.env): 'launcher' | 'worker' | 'single' {
  const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const nodeOptions = (['nnodes', 'nodeRank', 'masterAddr', 'masterPort'] as const).filter((o) => request.given.has(o)).map(flag);
  if (env[WORKER_MARK] !== undefined) return 'worker'; // started by our launcher, with the options it checked
  if (env.RANK !== undefined || env.WORLD_SIZE !== undefined) {
    const launch = [...(request.nprocPerNode !== undefined ? ['--nproc-per-node'] : []), ...nodeOptions];
    if (launch.length > 0) {
      throw new Error(`${launch.join(', ')} cannot take effect here: this process is already rank ${env.RANK ?? '?'} of ${env.WORLD_SIZE ?? '?'} ` +
        'from its environment (torchrun, srun), which sets the group: drop the launch options, or unset RANK and WORLD_SIZE to launch with them');
    }
    return 'worker';
  }
  if (request.nprocPerNode === undefined) {
    if (nodeOptions.length > 0) {
      throw new Error(`${nodeOptions.join(', ')} ${nodeOptions.length === 1 ? 'needs' : 'need'} --nproc-per-node (the number of worker processes on this node): ` +
        'without it the run is one process and they would be ignored; add --nproc-per-node N, or drop them');
    }
    if (request.given.has('distTimeout')) {
      throw new Error('--dist-timeout cannot take effect: the run is one process, with no collectives to time out; ' +
        'add --nproc-per-node N (or launch with torchrun), or drop it');
    }
    return 'single';
  }
  checkLaunch({ ...request, nprocPerNode: request.nprocPerNode, args: [] }, request.given.has('masterAddr'));
  return 'launcher';
}

/** Checks a launch; `addressGiven`: --master-addr was typed (127.0.0.1 then means all nodes on this machine, as in a test). */
export function checkLaunch(o: LaunchOptions, addressGiven = true): void {
  if (o.nodeRank >= o.nnodes) throw new Error(`--node-rank ${o.nodeRank} must be below --nnodes ${o.nnodes}`);
  if (o.nnodes > 1 && !addressGiven) {
    throw new Error(`--nnodes ${o.nnodes} needs --master-addr: the host name or IP of node 0 that the other nodes can reach`);
  }
}

export function workerEnvironment(o: LaunchOptions, localRank: number): NodeJS.ProcessEnv {
  const base = o.env ?? process.env;
  const threads = base.HYPERCLIP_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.nprocPerNode)));
  return {
    ...base,
    RANK: String(o.nodeRank * o.nprocPerNode + localRank),
    WORLD_SIZE: String(o.nnodes * o.nprocPerNode),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(o.nprocPerNode),
    GROUP_RANK: String(o.nodeRank),
    [WORKER_MARK]: '1',
    MASTER_ADDR: o.masterAddr,
    MASTER_PORT: String(o.masterPort),
    HYPERCLIP_THREADS: threads,
  };
}

/** Runs the node's workers to the end; code 0 when all of them succeeded. */
export function launchWorkers(o: LaunchOptions): Promise<LaunchResult> {
  checkLaunch(o);
  const workers: ChildProcess[] = [];
  let running = o.nprocPerNode;
  let failure: string | null = null;
  return new Promise((resolve) => {
    const stopOthers = () => {
      setTimeout(() => { for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL'); }, GRACE_MS).unref();
    };
    for (let local = 0; local < o.nprocPerNode; local++) {
      const env = workerEnvironment(o, local);
      const worker = spawn(process.execPath, o.args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
      workers.push(worker);
      worker.on('error', (error) => {
        failure ??= `worker rank ${env.RANK} could not start: ${error.message}`;
      });
      worker.on('exit', (code, signal) => {
        running--;
        if ((code !== 0 || signal !== null) && failure === null) {
          failure = `worker rank ${env.RANK} (pid ${worker.pid}) ${signal !== null ? `was killed by ${signal}` : `exited with code ${code}`}: the job stopped`;
          o.onFailure?.(failure);
          stopOthers();
        }
        if (running === 0) resolve({ code: failure === null ? 0 : 1, failure });
      });
    }
    const forward = (signal: NodeJS.Signals) => () => { for (const w of workers) w.kill(signal); };
    process.once('SIGINT', forward('SIGINT'));
    process.once('SIGTERM', forward('SIGTERM'));
  });
}
