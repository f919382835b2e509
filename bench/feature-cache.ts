// The frozen-prefix feature cache (src/train/prefix-cache.ts) in one run, on
// one recipe through the real trainer, all runs with the same seed and steps:
//   1. cold: training with an empty cache (every view decoded, computed and
//      written): the cache's write rate, and images/s while filling;
//   2. then, alternating in rounds so that drift in machine load hits both,
//      training without the cache (fresh augmentation, today's path) and with
//      the warm cache (the same seed draws exactly the views the cold run
//      wrote: every view read, none decoded): the read rate, and images/s.
// Images/s count the steps after `--warmup` untimed ones (the first batch waits
// for the shuffle buffers to fill), from the trainer's per-step log. The views
// were just written, so reads come mostly from the page cache: the read rate
// is the page cache's, not a cold disk's. Ratios are the last lines; each run
// is appended to runs/bench/feature-cache.jsonl.
//   npm run bench:feature-cache -- --quick
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { QUICK, isEntryPoint } from './lib/cli.js';
import { appendRecord, host } from './lib/records.js';
import type { FeatureStoreStats } from '../src/data/index.js';
import { RECIPES, resolveTrainConfig, type TrainConfig } from '../src/train/recipes.js';
import type { TrainReporter } from '../src/train/reporter.js';
import { MetricsLog } from '../src/train/metrics-log.js';
import { train } from '../src/train/trainer.js';
import { median } from '../tools/stats.js';

const RECORD = 'feature-cache';

interface Options { quick?: boolean; recipe: string; steps?: string; warmup?: string; batchSize?: string; views?: string; rounds?: string; cacheDir?: string; record: boolean }

interface Settings { recipe: string; quick: boolean; steps: number; warmup: number; batchSize: number; views: number; rounds: number }

type RunKind = 'cold' | 'without' | 'warm';

interface RunRecord { kind: RunKind; round: number; imagesPerSecond: number; seconds: number; cache: FeatureStoreStats | null }

export const cli = (): Command => new Command('bench:feature-cache')
  .option('--quick', QUICK)
  .option('--recipe <name>', 'a recipe with a frozen prefix (a LiT recipe)', 'mnv1-025-hyperclip-lit')
  .option('--steps <n>', 'timed training steps of every run (default 20, quick 2)')
  .option('--warmup <n>', 'untimed steps before them (default 3, quick 1)')
  .option('--batch-size <n>', 'images per step (default: the recipe\'s, quick 16: a HyperCLIP task group)')
  .option('--views <k>', 'fixed views per image with the cache (default 4, quick 2)')
  .option('--rounds <n>', 'alternating rounds of without / warm cache (default 2, quick 1)')
  .option('--cache-dir <dir>', 'the cache folder to fill (must not hold this setup\'s views yet; default: a temporary folder, removed at the end)')
  .option('--no-record', 'do not append this run to runs/bench/feature-cache.jsonl')
  .addHelpText('after', '\nExamples:\n  npm run bench:feature-cache -- --quick\n  npm run bench:feature-cache -- --recipe mnv2-hyperclip-lit --steps 20 --warmup 3 --views 4 --rounds 2');

function settingsOf(opts: Options): Settings {
  const count = (value: string | undefined, full: number, quick: number, flag: string): number => {
    const n = Number(value ?? (opts.quick ? quick : full));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
    return n;
  };
  const recipe = RECIPES[opts.recipe];
  if (recipe === undefined) throw new Error(`unknown recipe "${opts.recipe}"; known: ${Object.keys(RECIPES).join(', ')}`);
  return {
    recipe: opts.recipe, quick: Boolean(opts.quick), steps: count(opts.steps, 20, 2, '--steps'), warmup: count(opts.warmup, 3, 1, '--warmup'), batchSize: count(opts.batchSize, recipe.batchSize, 16, '--batch-size'),
    views: count(opts.views, 4, 2, '--views'), rounds: count(opts.rounds, 2, 1, '--rounds'),
  };
}

/** The recipe as the bench runs it: no validation, one checkpoint (the last step), every step logged, with or without the cache. */
function benchConfig(s: Settings, cacheDir: string | null): TrainConfig {
  const steps = s.warmup + s.steps;
  const overrides: Partial<TrainConfig> = {
    steps, batchSize: s.batchSize, checkpointEvery: steps, validateEvery: 0, logEvery: 1,
    validation: { cifar10Limit: 0, retrievalLimit: 0, tinyImagenetLimit: 0, heldOutLimit: 0 },
  };
  return resolveTrainConfig(s.recipe, undefined, cacheDir === null ? overrides : { ...overrides, featureCache: { views: s.views, dir: cacheDir } });
}

const reporter = (kind: string): TrainReporter => ({
  start: () => undefined, step: () => undefined, stop: () => undefined,
  message: (text) => process.stderr.write(`  [${kind}] ${text}\n`),
});

async function runOnce(kind: RunKind, round: number, s: Settings, dirs: { runs: string; cache: string }): Promise<RunRecord> {
  const config = benchConfig(s, kind === 'without' ? null : dirs.cache);
  const outDir = path.join(dirs.runs, `${kind}-${round}`);
  const summary = await train(config, { outDir, resume: false, reporter: reporter(kind) });
  const timed = timedSteps(outDir, s);
  rmSync(outDir, { recursive: true, force: true });
  const run = { kind, round, imagesPerSecond: timed.images / timed.seconds, seconds: timed.seconds, cache: summary.featureCache };
  const cache = run.cache === null ? '' : `; cache: ${run.cache.hits} views read, ${run.cache.written} written`;
  console.log(`${kind}${kind === 'cold' ? '' : ` (round ${round})`}: ${run.imagesPerSecond.toFixed(1)} img/s over ${s.steps} timed steps${cache}`);
  return run;
}

/** Images and seconds of the steps after the warm-up, from the trainer's per-step rates (each step's time includes its wait for data). */
function timedSteps(outDir: string, s: Settings): { images: number; seconds: number } {
  const steps = new MetricsLog(path.join(outDir, 'metrics.jsonl')).readLastLife().filter((r) => r.event === 'train' && (r.step as number) > s.warmup);
  if (steps.length !== s.steps) throw new Error(`${outDir}: ${steps.length} timed steps logged, ${s.steps} expected`);
  return { images: s.steps * s.batchSize, seconds: steps.reduce((sum, r) => sum + s.batchSize / (r.imagesPerSecond as number), 0) };
}

const rate = (bytes: number, views: number, seconds: number) => ({ mbPerSecond: bytes / 1e6 / seconds, viewsPerSecond: views / seconds });

function summarise(runs: RunRecord[]) {
  const cold = runs.find((r) => r.kind === 'cold')!;
  const of = (kind: RunKind) => runs.filter((r) => r.kind === kind);
  const warmStats = of('warm').map((r) => r.cache!);
  const sum = (key: keyof FeatureStoreStats) => warmStats.reduce((a, c) => a + c[key], 0);
  const drawn = (r: RunRecord) => r.cache!.hits + r.cache!.misses;
  return {
    write: rate(cold.cache!.bytesWritten, cold.cache!.written, cold.cache!.writeSeconds),
    read: rate(sum('bytesRead'), sum('hits'), sum('readSeconds')),
    warmHitShare: sum('hits') / Math.max(1, of('warm').reduce((a, r) => a + drawn(r), 0)),
    withoutImagesPerSecond: median(of('without').map((r) => r.imagesPerSecond)),
    warmImagesPerSecond: median(of('warm').map((r) => r.imagesPerSecond)),
    coldImagesPerSecond: cold.imagesPerSecond,
    // Per round, warm against without: the pair ran back to back.
    roundRatios: of('warm').map((w) => w.imagesPerSecond / of('without').find((r) => r.round === w.round)!.imagesPerSecond),
  };
}

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  const settings = settingsOf(opts);
  const start = host();
  console.log(`load average at start: ${start.loadAverage.join(' ')}; ${settings.recipe}, ${settings.warmup} + ${settings.steps} timed steps of ${settings.batchSize}, ${settings.views} views with the cache`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-feature-cache-'));
  const dirs = { runs: path.join(scratch, 'runs'), cache: opts.cacheDir ?? path.join(scratch, 'cache') };
  const runs: RunRecord[] = [];
  try {
    runs.push(await runOnce('cold', 0, settings, dirs));
    if (runs[0]!.cache!.found > 0) throw new Error(`${dirs.cache} already held ${runs[0]!.cache!.found} views of this setup: give an empty --cache-dir to measure writing`);
    for (let round = 1; round <= settings.rounds; round++) {
      for (const kind of round % 2 === 1 ? (['without', 'warm'] as const) : (['warm', 'without'] as const)) runs.push(await runOnce(kind, round, settings, dirs));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const s = summarise(runs);
  console.log(`load average at end: ${host().loadAverage.join(' ')}`);
  console.log(`cache write: ${s.write.mbPerSecond.toFixed(1)} MB/s, ${s.write.viewsPerSecond.toFixed(0)} views/s (chunks written atomically, with fsync)`);
  console.log(`cache read: ${s.read.mbPerSecond.toFixed(1)} MB/s, ${s.read.viewsPerSecond.toFixed(0)} views/s (mostly from the page cache); warm runs read ${(100 * s.warmHitShare).toFixed(1)}% of the views they drew`);
  console.log(`training: without the cache ${s.withoutImagesPerSecond.toFixed(1)} img/s, warm cache ${s.warmImagesPerSecond.toFixed(1)} img/s, filling the cache ${s.coldImagesPerSecond.toFixed(1)} img/s; per-round warm/without: ${s.roundRatios.map((r) => r.toFixed(3)).join(' ')}`);
  if (opts.record) {
    const file = appendRecord(RECORD, { at: new Date().toISOString(), command: ['npm run bench:feature-cache --', ...process.argv.slice(2)].join(' '), settings, host: start, loadAverageAtEnd: host().loadAverage, runs, summary: s });
    console.log(`recorded in ${file}`);
  }
  console.log(`cold_to_without_ratio=${(s.coldImagesPerSecond / s.withoutImagesPerSecond).toFixed(3)}`);
  console.log(`warm_to_without_ratio=${median(s.roundRatios).toFixed(3)}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:feature-cache: ${error.message}`);
  process.exit(1);
});
