// Data-parallel throughput on this machine: 1 process x 2 threads against
// 2 processes x 1 thread (c10d over 127.0.0.1, Gloo), tiny-hyperclip at a
// global batch of 128 on Flickr8k train through the real loader (each rank
// reads its own shards). The two set-ups alternate over rounds so load drift
// hits both; each round is a fresh launch. Reported per set-up: images/s,
// and the share of the step time spent in collectives (gradient all-reduce
// and embedding all-gather, waiting for the slower rank included).
//   npm run bench:distributed -- --rounds 2 --steps 8
import { spawn } from 'node:child_process';
import { freePort } from '../src/train/free-port.js';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { manualSeed, useAllCores } from '../src/engine/index.js';
import { createLoader, trainPreprocess } from '../src/data/index.js';
import { Tokenizer } from '../src/data/tokenizer/index.js';
import { HyperClip } from '../src/models/index.js';
import { loaderSources } from '../src/train/data-sources.js';
import { joinGroup } from '../src/train/distributed.js';
import { dataParallelStep } from '../src/train/distributed-step.js';
import { RECIPES } from '../src/train/recipes.js';
import { createOptimizer, modelConfigFor } from '../src/train/trainer.js';

interface WorkerResult { images: number; seconds: number; commSeconds: number; waitSeconds: number }

const RECIPE = 'tiny-hyperclip';

/** One rank: warm-up steps, then timed steps; rank 0 prints its figures as one JSON line. */
async function worker(steps: number, warmup: number, batchSize: number): Promise<void> {
  const threads = useAllCores();
  const parallel = joinGroup('cpu');
  const config = { ...structuredClone(RECIPES[RECIPE]!), batchSize };
  const tokenizer = Tokenizer.load(config.tokenizer);
  manualSeed(config.seed);
  const model = new HyperClip(modelConfigFor(config, tokenizer)).train();
  const optimizer = createOptimizer(model, config);
  parallel.syncWeights(model);
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
    const { commSeconds } = dataParallelStep({ model, optimizer, tokenizer, gradClip: config.gradClip, group: parallel.group! }, batch);
    if (step < warmup) continue;
    result.images += batch.size * parallel.worldSize;
    result.seconds += (performance.now() - asked) / 1000;
    result.waitSeconds += (got - asked) / 1000;
    result.commSeconds += commSeconds;
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

interface Options { worker?: boolean; rounds: string; steps: string; warmup: string; batchSize: string }

async function main(): Promise<void> {
  const opts = new Command()
    .option('--worker', 'internal: run as one rank')
    .option('--rounds <n>', 'alternating rounds of both set-ups', '2')
    .option('--steps <n>', 'timed steps per launch', '8')
    .option('--warmup <n>', 'untimed steps per launch', '2')
    .option('--batch-size <n>', 'global batch', '128')
    .parse().opts<Options>();
  const [rounds, steps, warmup, batchSize] = [opts.rounds, opts.steps, opts.warmup, opts.batchSize].map(Number) as [number, number, number, number];
  if (opts.worker) return worker(steps, warmup, batchSize);
  const args = ['--steps', String(steps), '--warmup', String(warmup), '--batch-size', String(batchSize)];
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const setups = [{ name: '1 process x 2 threads', processes: 1, threads: 2 }, { name: '2 processes x 1 thread', processes: 2, threads: 1 }];
  const totals = setups.map(() => ({ images: 0, seconds: 0, commSeconds: 0, waitSeconds: 0 }));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const s = setups[i]!;
      const res = await launch(s.processes, s.threads, args);
      const t = totals[i]!;
      t.images += res.images; t.seconds += res.seconds; t.commSeconds += res.commSeconds; t.waitSeconds += res.waitSeconds;
      console.log(`round ${r + 1}/${rounds}, ${s.name}: ${(res.images / res.seconds).toFixed(1)} img/s, ` +
        `communication ${(100 * res.commSeconds / res.seconds).toFixed(1)}% of the time, data wait ${(100 * res.waitSeconds / res.seconds).toFixed(1)}%`);
    }
  }
  const rate = totals.map((t) => t.images / t.seconds);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${RECIPE}, global batch ${batchSize}, ${steps} timed steps per launch, ${rounds} rounds, Flickr8k train with augmentation`);
  setups.forEach((s, i) => console.log(`${s.name}: ${rate[i]!.toFixed(1)} img/s; communication share ${(totals[i]!.commSeconds / totals[i]!.seconds).toFixed(3)}`));
  console.log(`two_process_to_one_process_ratio=${(rate[1]! / rate[0]!).toFixed(3)}`);
  console.log(`communication_share_two_processes=${(totals[1]!.commSeconds / totals[1]!.seconds).toFixed(3)}`);
}

main().catch((error: Error) => {
  console.error(`bench:distributed: ${error.message}`);
  process.exit(1);
});
