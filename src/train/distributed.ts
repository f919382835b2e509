// How the trainer runs as one rank of a data-parallel group. The group comes
// from torchrun's environment variables (RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT), which `hyperclip train --nproc-per-node` sets for
// its workers as torchrun and srun wrappers do. Without them the trainer is
// one process and every hook here is the identity.
//   rank 0 logs, validates and writes checkpoints; all ranks train.
//   each rank reads the shards i with i % WORLD_SIZE == RANK of every source.
//   the recipe's batch size is the global batch; each rank takes 1/WORLD_SIZE.
import { getRngState, ncclAvailable, setRngState, ProcessGroup, type Device, type DistributedBackend } from '../engine/index.js';
import { expandShards, SkipCounter, type LoaderSource, type LoaderState } from '../data/index.js';
import type { HyperClip } from '../models/index.js';
import { broadcastWeights } from './distributed-step.js';
import { MetricsLog } from './metrics-log.js';

export interface RankInfo {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

/** Collective timeout unless HYPERCLIP_DIST_TIMEOUT (seconds) says otherwise: covers rank 0's validation pauses. */
const DEFAULT_TIMEOUT_SECONDS = 900;

/** The rank of this process from torchrun-style variables, or null when it runs alone. */
export function rankFromEnvironment(env: NodeJS.ProcessEnv = process.env): RankInfo | null {
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) return null;
  const read = (name: string, fallback?: string): number => {
    const raw = env[name] ?? fallback;
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value) || value < 0) {
      throw new Error(`expected a non-negative integer in the environment variable ${name} but received ${raw ?? 'nothing'}`);
    }
    return value;
  };
  const worldSize = read('WORLD_SIZE');
  const rank = read('RANK');
  if (worldSize < 1 || rank >= worldSize) throw new Error(`RANK=${rank} does not fit WORLD_SIZE=${worldSize}`);
  return { rank, worldSize, localRank: read('LOCAL_RANK', '0'), masterAddr: env.MASTER_ADDR ?? '127.0.0.1', masterPort: read('MASTER_PORT', '29500') };
}

export function timeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.HYPERCLIP_DIST_TIMEOUT ?? DEFAULT_TIMEOUT_SECONDS);
  if (!(seconds > 0)) throw new Error(`expected a positive number of seconds in HYPERCLIP_DIST_TIMEOUT but received ${env.HYPERCLIP_DIST_TIMEOUT}`);
  return seconds * 1000;
}

/** This rank's device: cuda:LOCAL_RANK for a CUDA run with several local ranks. */
export function rankDevice(device: Device, info: RankInfo | null): Device {
  return device === 'cuda' && info !== null ? `cuda:${info.localRank}` : device;
}

/** A training run's parallel role. The single-process role changes nothing. */
export interface Parallelism {
  readonly rank: number;
  readonly worldSize: number;
  /** Rank 0: the one that logs, validates and writes files. */
  readonly isMain: boolean;
  readonly group: ProcessGroup | null;
  localBatchSize(globalBatch: number, groupSize: number): number;
  shardSources(sources: LoaderSource[]): LoaderSource[];
  /** The seed of this rank's data stream. */
  dataSeed(seed: number): number;
  /** This rank's loader position (and random state) from a checkpoint's data state. */
  restore(dataState: unknown): LoaderState | undefined;
  /** The data state to checkpoint: every rank's position, gathered (a collective: all ranks call it). */
  checkpointState(position: LoaderState): unknown;
  syncWeights(model: HyperClip): void;
  close(): void;
}

export const singleProcess: Parallelism = {
  rank: 0, worldSize: 1, isMain: true, group: null,
  localBatchSize: (globalBatch) => globalBatch,
  shardSources: (sources) => sources,
  dataSeed: (seed) => seed,
  restore: (dataState) => (dataState ?? undefined) as LoaderState | undefined,
  checkpointState: (position) => position,
  syncWeights: () => undefined,
  close: () => undefined,
};

interface RankDataState { position: LoaderState; rng: string }
interface GroupDataState { worldSize: number; ranks: RankDataState[] }

const warnOnStderr = (line: string): void => { process.stderr.write(`hyperclip: warning: ${line}\n`); };

/**
 * The process group's backend: Gloo on the CPU; NCCL for a CUDA device when
 * the addon has it, else Gloo with a warning that names the fallback (never
 * a silent one).
 */
export function groupBackend(device: Device, nccl: boolean, warn: (line: string) => void): DistributedBackend {
  if (!device.startsWith('cuda')) return 'gloo';
  if (nccl) return 'nccl';
  warn(`--device ${device}: this libtorch build has no NCCL, so the ranks' collectives fall back to Gloo (through host memory, slower; ` +
    'not verified on a GPU); for NCCL, build the addon against a CUDA libtorch that has it (LIBTORCH=/path/to/libtorch npm run build:native)');
  return 'gloo';
}

/** Joins the group this process was launched into (or runs alone); device 'cuda' selects NCCL where the addon has it. */
export function joinGroup(device: Device, env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = warnOnStderr): Parallelism {
  const info = rankFromEnvironment(env);
  if (info === null) return singleProcess;
  // Rank 0 speaks for the group: one warning line, not one per rank.
  const backend = groupBackend(device, device.startsWith('cuda') && ncclAvailable(), info.rank === 0 ? warn : () => undefined);
  const group = ProcessGroup.connect({ ...info, timeoutMs: timeoutMs(env), backend, device });
  return dataParallel(group);
}

export function dataParallel(group: ProcessGroup): Parallelism {
  const { rank, worldSize } = group;
  return {
    rank, worldSize, isMain: rank === 0, group,
    localBatchSize(globalBatch, groupSize) {
      const local = globalBatch / worldSize;
      if (!Number.isInteger(local) || local % groupSize !== 0) {
        throw new Error(`batch size ${globalBatch} does not split over ${worldSize} ranks into whole task groups of ${groupSize}: ` +
          `use a multiple of ${worldSize * groupSize}`);
      }
      return local;
    },
    shardSources: (sources) => sources.map((source): LoaderSource => {
      if (source.files !== undefined) {
        // Loose files split file by file; what listing passed over is counted once, by rank 0.
        const { files, origin, skipped } = source.files;
        const mine = files.filter((_, i) => i % worldSize === rank);
        if (mine.length === 0) throw new Error(`${origin} has ${files.length} file(s) for ${worldSize} ranks: each rank needs at least one`);
        return { ...source, files: { origin, files: mine, skipped: rank === 0 ? skipped : new SkipCounter() } };
      }
      const shards = expandShards(source.shards);
      if (shards.length < worldSize) {
        throw new Error(`a data source has ${shards.length} shard(s) for ${worldSize} ranks: each rank needs at least one (re-shard the data or use fewer processes)`);
      }
      return { ...source, shards: shards.filter((_, i) => i % worldSize === rank) };
    }),
    dataSeed: (seed) => seed + 7919 * rank,
    restore(dataState) {
      if (dataState === null || dataState === undefined) return undefined;
      const saved = dataState as Partial<GroupDataState>;
      if (saved.worldSize !== worldSize || !Array.isArray(saved.ranks)) {
        throw new Error(`the checkpoint was written by ${saved.worldSize ?? 1} process(es), this run has ${worldSize}: resume with the same number of processes`);
      }
      const mine = saved.ranks[rank]!;
      setRngState(new Uint8Array(Buffer.from(mine.rng, 'base64')));
      return mine.position;
    },
    checkpointState(position) {
      const mine: RankDataState = { position, rng: Buffer.from(getRngState()).toString('base64') };
      const all = group.allGatherBytes(new TextEncoder().encode(JSON.stringify(mine)));
      return { worldSize, ranks: all.map((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as RankDataState) } satisfies GroupDataState;
    },
    syncWeights: (model) => broadcastWeights(group, model),
    close: () => group.close(),
  };
}

/** The metrics log of ranks other than 0: writes nothing. */
export class DiscardLog extends MetricsLog {
  override write(): void {}
}
