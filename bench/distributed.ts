// Data-parallel throughput on this machine: 1 process x 2 threads against
// 2 processes x 1 thread (c10d over 127.0.0.1, Gloo), the latter with the
// gradient all-reduce after backward and overlapped with backward
// (--overlap-allreduce, src/train/overlapped-reducer.ts); tiny-hyperclip at
// a global batch of 128 on Flickr8k train through the real loader (each
// rank reads its own shards). The set-ups take turns going first over rounds
// so load drift hits all; each round is a fresh launch. Reported per set-up:
// images/s, and the share of the step time the training thread spent blocked
// in collectives (gradient all-reduce and embedding all-gather, waiting for
// the slower rank included; of an overlapped all-reduce, only its waits).
//   npm run bench:distributed -- --rounds 2 --steps 8
// Each run is appended to runs/bench/distributed.jsonl (settings, host, every
// launch); `--report-only` rewrites docs/distributed.md's measured section from it.
import { spawn } from 'node:child_process';
import { freePort } from '../src/train/free-port.js';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Command } from 'commander';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { rewriteSection } from './lib/doc-section.js';
import { distributedSection, REPORT_COMMAND, setupsOf, summarise, type DistributedRecord, type DistributedSettings, type LaunchRecord } from './lib/distributed-record.js';
import { appendRecord, host, readRecords } from './lib/records.js';
import { projectRoot } from '../src/project-root.js';
import { manualSeed, useAllCores } from '../src/engine/index.js';
import { createLoader, trainPreprocess } from '../src/data/index.js';
import { Tokenizer } from '../src/data/tokenizer/index.js';
import { HyperClip } from '../src/models/index.js';
import { loaderSources } from '../src/train/data-sources.js';
import { joinGroup } from '../src/train/distributed.js';
import { dataParallelStep } from '../src/train/train-step.js';
import { overlappedReduction } from '../src/train/objectives/contrastive-loss.js';
import { RECIPES } from '../src/train/recipes.js';
import { createOptimizer } from '../src/train/optimizer.js';
import { modelConfigFor } from '../src/train/trainer.js';

import type { WorkerResult } from './lib/distributed-record.js';

const RECIPE = 'tiny-hyperclip';
const RECORD = 'distributed';

/** One rank: warm-up steps, then timed steps; rank 0 prints its figures as one JSON line. */
async function worker(steps: number, warmup: number, batchSize: number, overlap: boolean): Promise<void> {
  const threads = useAllCores();
  const parallel = joinGroup('cpu');
  const config = { ...structuredClone(RECIPES[RECIPE]!), batchSize };
  const tokenizer = Tokenizer.load(config.tokenizer);
  manualSeed(config.seed);
  const model = new HyperClip(modelConfigFor(config, tokenizer)).train();
  const optimizer = createOptimizer(model, config);
  parallel.syncWeights(model);
  const overlapped = overlap ? overlappedReduction(model, parallel.group!, optimizer.allParams()) : null;
  const loader = createLoader({
    sources: parallel.shardSources(loaderSources(config.data)), seed: parallel.dataSeed(config.seed), shuffle: true, dropLast: true,
    batchSize: parallel.localBatchSize(batchSize, model.config.hypernet?.groupSize ?? 1), workers: threads,
    preprocess: trainPreprocess(model.config.image.imageSize, { scale: config.cropScale }),
  });
  const result: WorkerResult = { images: 0, seconds: 0, commSeconds: 0, waitSeconds: 0 };
  for (let step = 0; step < warmup + steps; step++) {
    const asked = performance.now();
    const batch = await loader.next();
    if (batch === null) throw new Error('the training data ran out');
    const got = performance.now();
    const { commSeconds } = dataParallelStep({ model, optimizer, tokenizer, gradClip: config.gradClip, group: parallel.group!, overlapped }, batch);
    if (step < warmup) continue;
    result.images += batch.size * parallel.worldSize;
    result.seconds += (performance.now() - asked) / 1000;
    result.waitSeconds += (got - asked) / 1000;
    result.commSeconds += commSeconds;
  }
  if (overlapped !== null) {
    const { steps: reduced, buckets, launchedDuringBackward } = overlapped.figures;
    result.bucketLaunches = reduced * buckets;
    result.bucketLaunchesDuringBackward = launchedDuringBackward;
    overlapped.close();
  }
  await loader.close();
  parallel.close();
  if (parallel.isMain) console.log(JSON.stringify(result));
}


/** Launches `processes` ranks of `threads` threads each; returns rank 0's figures. */
async function launch(processes: number, threads: number, args: string[]): Promise<WorkerResult> {
  const port = await freePort();
  const script = fileURLToPath(import.meta.url);
  const outputs = await Promise.all(Array.from({ length: processes }, (_, rank) => new Promise<string>((resolve, reject) => {
    const env = {
      ...process.env, RANK: String(rank), WORLD_SIZE: String(processes), LOCAL_RANK: String(rank),
      MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), HYPERCLIP_THREADS: String(threads),
    };
    const child = spawn(process.execPath, [script, '--worker', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rank ${rank} of ${processes} exited with code ${code}`))));
  })));
  return JSON.parse(outputs[0]!.trim().split('\n').pop()!) as WorkerResult;
}

interface Options { worker?: boolean; overlap?: boolean; quick?: boolean; rounds?: string; steps?: string; warmup?: string; batchSize?: string; reportOnly?: boolean; record: boolean }

export const cli = (): Command => new Command('bench:distributed')
  .option('--quick', QUICK)
  .option('--worker', 'internal: run as one rank')
  .option('--overlap', 'internal: the rank all-reduces gradients overlapped with backward')
  .option('--rounds <n>', 'alternating rounds of both set-ups (default 2, quick 1)')
  .option('--steps <n>', 'timed steps per launch (default 8, quick 2)')
  .option('--warmup <n>', 'untimed steps per launch (default 2, quick 1)')
  .option('--batch-size <n>', 'global batch (default 128, quick 32)')
  .option('--no-record', 'do not append this run to runs/bench/distributed.jsonl')
  .option('--report-only', 'rewrite the measured section of docs/distributed.md from runs/bench/distributed.jsonl, run nothing')
  .addHelpText('after', '\nExamples:\n  npm run bench:distributed -- --quick\n  npm run bench:distributed -- --rounds 2 --steps 8');

const SETUPS = [
  { name: '1 process x 2 threads', processes: 1, threads: 2, overlapAllReduce: false },
  { name: '2 processes x 1 thread', processes: 2, threads: 1, overlapAllReduce: false },
  { name: '2 processes x 1 thread, all-reduce overlapped', processes: 2, threads: 1, overlapAllReduce: true },
];

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  const count = (value: string | undefined, full: number, quick: number, flag: string): number => {
    const n = Number(value ?? (opts.quick ? quick : full));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
    return n;
  };
  const settings: DistributedSettings = {
    recipe: RECIPE, quick: Boolean(opts.quick), rounds: count(opts.rounds, 2, 1, '--rounds'), steps: count(opts.steps, 8, 2, '--steps'),
    warmup: count(opts.warmup, 2, 1, '--warmup'), batchSize: count(opts.batchSize, 128, 32, '--batch-size'),
  };
  if (opts.worker) return worker(settings.steps, settings.warmup, settings.batchSize, Boolean(opts.overlap));
  if (opts.reportOnly) return writeDoc();
  const args = ['--steps', String(settings.steps), '--warmup', String(settings.warmup), '--batch-size', String(settings.batchSize)];
  const start = host();
  console.log(`load average at start: ${start.loadAverage.join(' ')}`);
  const launches: LaunchRecord[] = [];
  for (let r = 0; r < settings.rounds; r++) {
    for (let k = 0; k < SETUPS.length; k++) {
      const s = SETUPS[(k + r) % SETUPS.length]!; // each set-up goes first in turn
      const res = await launch(s.processes, s.threads, s.overlapAllReduce ? [...args, '--overlap'] : args);
      launches.push({ round: r + 1, ...s, ...res });
      console.log(`round ${r + 1}/${settings.rounds}, ${s.name}: ${(res.images / res.seconds).toFixed(1)} img/s, ` +
        `communication ${(100 * res.commSeconds / res.seconds).toFixed(1)}% of the time, data wait ${(100 * res.waitSeconds / res.seconds).toFixed(1)}%` +
        (res.bucketLaunches === undefined ? '' : `, ${res.bucketLaunchesDuringBackward} of ${res.bucketLaunches} bucket all-reduces launched during backward`));
    }
  }
  const record: DistributedRecord = {
    at: new Date().toISOString(), command: ['npm run bench:distributed --', ...process.argv.slice(2)].join(' '), settings, host: start,
    loadAverageAtEnd: host().loadAverage, launches,
  };
  const summary = summarise(record);
  console.log(`load average at end: ${record.loadAverageAtEnd.join(' ')}`);
  console.log(`${RECIPE}, global batch ${settings.batchSize}, ${settings.steps} timed steps per launch, ${settings.rounds} rounds, Flickr8k train with augmentation`);
  summary.forEach((x) => console.log(`${x.name}: ${x.rate.toFixed(1)} img/s; communication share ${x.commShare.toFixed(3)}`));
  const { one, after, overlapped } = setupsOf(summary);
  console.log(`two_process_to_one_process_ratio=${(after!.rate / one!.rate).toFixed(3)}`);
  console.log(`communication_share_two_processes=${after!.commShare.toFixed(3)}`);
  console.log(`communication_share_two_processes_overlapped=${overlapped!.commShare.toFixed(3)}`);
  console.log(`overlapped_to_after_backward_ratio=${(overlapped!.rate / after!.rate).toFixed(3)}`);
  if (opts.record) console.log(`recorded in ${appendRecord(RECORD, record)}; \`npm run bench:distributed -- --report-only\` rewrites docs/distributed.md from it`);
}

function writeDoc(): void {
  const file = path.join(projectRoot(), 'docs', 'distributed.md');
  rewriteSection(file, REPORT_COMMAND, distributedSection(readRecords<DistributedRecord>(RECORD)));
  console.log(`rewrote the measured section of ${file}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:distributed: ${error.message}`);
  process.exit(1);
});
