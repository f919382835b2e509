// Training throughput: a HyperCLIP recipe and its SigLIP baseline side by
// side in one run (tiny-hyperclip and tiny-siglip unless --recipes names
// others), on the same threads and the same data through the real loader
// with training augmentation. Two HyperCLIP recipes on the same data time a
// lever instead (resolution, generated stages, tuning); --record appends the
// run's printed lines to runs/bench/train.jsonl. Each is built as the trainer builds it
// (buildTrainParts: word prior, init from a run or a pretrained file, the
// objective with its frozen prefix and distillation) and stepped by the
// trainer's step; a warm start is left out (a one-off before step 0, not
// throughput). Rounds alternate which model goes first, so machine-load
// drift hits both equally; the ratio is the median of the per-round ratios
// (many short rounds: on a loaded machine single rounds swing by +-50%).
//   npm run bench:train -- --quick
//   npm run bench:train -- --recipes mnv1-025-hyperclip-lit,mnv1-025-siglip-lit
//   npm run bench:train -- --recipes mnv2-hyperclip-lit-px96,mnv2-hyperclip-lit --record
// --phases adds where each step's wall time goes (bench/lib/step-phases.ts);
// --batches N decodes N batches before timing and cycles through them, so
// the steps run on changing batches with no loader beside them (N = 1: one
// fixed batch, as bench:train-overhead profiles). --compare A,B runs nothing:
// it compares two runs' records (bench/lib/train-compare.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { integer } from '../src/cli/parse.js';
import { isEntryPoint } from './lib/cli.js';
import { PHASES, StepPhaseTimer, type Phase, type Phases } from './lib/step-phases.js';
import { appendRecord, host, readRecords } from './lib/records.js';
import { compareTrainRecords, RECORD } from './lib/train-compare.js';
import { useAllCores } from '../src/engine/index.js';
import { createLoader, type Batch, type DataLoader } from '../src/data/index.js';
import { resolveConfig, type ModelConfig } from '../src/models/index.js';
import { singleProcess } from '../src/train/distributed.js';
import { RECIPES, listRecipes, type TrainConfig } from '../src/train/recipes.js';
import { silentReporter } from '../src/train/reporter.js';
import { warmupCosine } from '../src/train/schedule.js';
import { createRng } from '../src/data/random.js';
import { bootstrapMedianInterval, median } from '../tools/stats.js';
import { trainStep } from '../src/train/train-step.js';
import { buildTrainParts, type TrainParts } from '../src/train/trainer.js';

interface Contender {
  name: string;
  config: TrainConfig;
  parts: TrainParts;
  /** Shared with the other contender when both would draw the same batches. */
  loader: DataLoader;
  /** The next batch: from the loader, or from batches decoded before timing (--batches). */
  next: () => Promise<Batch | null>;
  step: number;
  /** Per round: images, seconds waiting for data, seconds in the step. */
  rounds: Round[];
  /** Wall ms of each phase over the timed steps (--phases). */
  phases: Phases;
}

/** Steps, images, seconds waiting for data, seconds in the step, and process CPU seconds during the step (all threads, decode workers included). */
interface Round { steps: number; images: number; wait: number; compute: number; cpu: number }

/** A contender before the loaders are chosen (one shared or one each). */
type Built = Omit<Contender, 'loader' | 'next'>;

interface BenchOptions { compare?: [string, string]; record?: boolean; quick?: boolean; warmup?: string; rounds?: string; stepsPerRound?: string; batchSize: string; recipes: [string, string]; phases?: boolean; batches?: number }

const DEFAULT_RECIPES: [string, string] = ['tiny-hyperclip', 'tiny-siglip'];

interface Pair { name: string; config: TrainConfig; model: ModelConfig }

/**
 * What a pair of recipes compares: a HyperCLIP recipe against its SigLIP twin
 * (same image size and data: the ratio is the hypernetwork's cost), or two
 * HyperCLIP recipes on the same data that differ in a lever such as the
 * resolution or the generated stages (the ratio is that lever's cost).
 */
export type PairKind = 'twin' | 'lever';

const pairOf = (name: string): Pair => {
  const config = RECIPES[name]!;
  return { name, config, model: resolveConfig({ ...config.modelOverrides, preset: config.model }) };
};

/** The kind of a pair recipePair accepted. */
export const pairKind = (names: [string, string]): PairKind => (pairOf(names[1]).model.hypernet === null ? 'twin' : 'lever');

/**
 * The two recipes of --recipes, checked from their configs alone so that a
 * wrong pair fails before any model, pretrained file or data is read: a
 * HyperCLIP one first, then its SigLIP baseline at the same image size, or a
 * second HyperCLIP recipe; both on the same data (else the ratio would
 * measure the data besides the model).
 */
export function recipePair(value: string): [string, string] {
  const names = value.split(',').map((n) => n.trim());
  if (names.length !== 2 || names.includes('')) throw new InvalidArgumentError(`give two recipes, a HyperCLIP one then its SigLIP baseline or another HyperCLIP recipe (e.g. ${DEFAULT_RECIPES.join(',')}), got "${value}"`);
  const unknown = names.filter((n) => RECIPES[n] === undefined);
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown recipe ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${listRecipes().join(', ')}`);
  const [first, second] = names.map(pairOf) as [Pair, Pair];
  if (first.model.hypernet === null) throw new InvalidArgumentError(`${first.name} has no hypernetwork: name a HyperCLIP recipe first, then its SigLIP baseline or another HyperCLIP recipe`);
  if (first.name === second.name) throw new InvalidArgumentError(`${first.name} is named twice: give two different recipes`);
  if (second.model.hypernet === null && first.model.image.imageSize !== second.model.image.imageSize) {
    throw new InvalidArgumentError(`${first.name} trains at ${first.model.image.imageSize} px and ${second.name} at ${second.model.image.imageSize} px: against a SigLIP baseline the comparison would not be fair`);
  }
  if (JSON.stringify(first.config.data) !== JSON.stringify(second.config.data)) throw new InvalidArgumentError(`${first.name} and ${second.name} train on different data: the comparison would not be fair`);
  return [first.name, second.name];
}

/** Built in a folder of its own that nothing is written to: the objective only names its output there. */
function buildContender(name: string, batchSize: number, outDir: string): Built {
  const config = { ...structuredClone(RECIPES[name]!), batchSize };
  const reporter = { ...silentReporter, message: (text: string) => console.log(`${name}: ${text}`) };
  const parts = buildTrainParts(config, { outDir: path.join(outDir, name), resume: false, device: 'cpu', parallel: singleProcess, reporter });
  return { name, config, parts, step: 0, rounds: [], phases: new Map() };
}

/** As the trainer's loader for this recipe, at the bench's batch size. */
function loaderFor(c: Built, batchSize: number): DataLoader {
  const { sources, preprocess, objective } = c.parts;
  return createLoader({
    sources, batchSize, seed: c.config.seed, shuffle: true, dropLast: true, preprocess,
    ...(objective.fixedViews === undefined ? {} : { views: objective.fixedViews }),
  });
}

/** One loader serves both when they would draw the same batches: a second would decode every image again on the cores the steps use. */
function sameBatches(a: Built, b: Built): boolean {
  const key = (c: Built): string => JSON.stringify({ data: c.config.data, seed: c.config.seed, preprocess: c.parts.preprocess });
  return a.parts.objective.fixedViews === undefined && b.parts.objective.fixedViews === undefined && key(a) === key(b);
}

/** Runs `steps` training steps of one contender; returns images, data-wait and step seconds; with a timer, adds the step's phases to c.phases. */
async function runSteps(c: Contender, steps: number, timer?: StepPhaseTimer): Promise<Round> {
  const { objective } = c.parts;
  let images = 0, wait = 0, compute = 0, cpu = 0;
  for (let i = 0; i < steps; i++) {
    const asked = performance.now();
    const batch = await c.next();
    if (batch === null) throw new Error(`${c.name}: the training data ran out (${c.loader.skips.summary()})`);
    const got = performance.now();
    const cpuBefore = process.cpuUsage();
    objective.optimizer.lr = warmupCosine(c.step, { lr: c.config.lr, warmupSteps: c.config.warmupSteps, totalSteps: c.config.steps, minLrRatio: c.config.minLrRatio });
    const step = (): number => trainStep(objective, objective.optimizer, c.config.gradClip, batch).loss;
    const loss = timer === undefined ? step() : timer.timed(c.phases, step);
    if (!Number.isFinite(loss)) throw new Error(`${c.name}: loss is ${loss} at step ${c.step}`);
    const used = process.cpuUsage(cpuBefore);
    cpu += (used.user + used.system) / 1e6;
    c.step++;
    images += batch.size; wait += (got - asked) / 1000; compute += (performance.now() - got) / 1000;
  }
  return { steps, images, wait, compute, cpu };
}

function summarise(c: Contender): { rate: number; computeRate: number; waitShare: number; images: number; seconds: number; cpuPerImage: number } {
  const images = c.rounds.reduce((a, r) => a + r.images, 0);
  const wait = c.rounds.reduce((a, r) => a + r.wait, 0);
  const compute = c.rounds.reduce((a, r) => a + r.compute, 0);
  const cpu = c.rounds.reduce((a, r) => a + r.cpu, 0);
  return { rate: images / (wait + compute), computeRate: images / compute, waitShare: wait / (wait + compute), images, seconds: wait + compute, cpuPerImage: cpu / images };
}

const positive = (value: string | undefined, fallback: number, flag: string): number => {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
};

export const cli = (): Command => new Command('bench:train')
  .option('--quick', 'short run (within about 2 minutes on 2 cores)')
  .option('--warmup <n>', 'untimed steps per model before timing (default 3, quick 1)')
  .option('--rounds <n>', 'timed rounds, alternating which model goes first (default 16, quick 8)')
  .option('--steps-per-round <n>', 'steps per model per round (default 2, quick 1)')
  .option('--batch-size <n>', 'images per step', '128')
  .option('--phases', 'also report where each step\'s wall time goes (frozen prefix, text, hypernetwork, image suffix, teacher, backward, optimiser)')
  .option('--batches <n>', 'decode n batches before timing and cycle through them: no loader beside the steps (1: one fixed batch)', integer('batches', 1, 1000))
  .option('--compare <first,second>', 'run nothing: compare two runs by their lines in runs/bench/train.jsonl (1-based; -1 the last): ratio intervals and a permutation test', recordPair)
  .option('--record', 'append this run (command, date, host, every printed line) to runs/bench/train.jsonl, which --compare and the tower probes report read')
  .addOption(new Option('--recipes <first,second>', 'a HyperCLIP recipe, then its SigLIP baseline (same image size) or another HyperCLIP recipe (a lever: resolution, generated stages, tuning); same data (src/train/recipes.ts)')
    .argParser(recipePair).default(DEFAULT_RECIPES, DEFAULT_RECIPES.join(',')));

/** --compare's two record lines. */
function recordPair(value: string): [string, string] {
  const lines = value.split(',').map((l) => l.trim());
  if (lines.length !== 2 || lines.some((l) => !/^-?[1-9][0-9]*$/.test(l))) throw new InvalidArgumentError(`give two record lines, e.g. -2,-1 or 7,8, got "${value}"`);
  return lines as [string, string];
}

async function main(): Promise<void> {
  const program = cli().parse();
  const opts = program.opts<BenchOptions>();
  if (opts.record && opts.compare === undefined) {
    const printed = capturePrinted();
    const start = host();
    try {
      await bench(program, opts);
    } finally {
      printed.restore();
    }
    const command = ['npm run bench:train --', ...process.argv.slice(2)].join(' ');
    const file = appendRecord(RECORD, { event: 'run', command, date: new Date().toISOString(), host: start, output: printed.lines });
    console.log(`record appended to ${file} (line ${readRecords(RECORD).length})`);
    return;
  }
  await bench(program, opts);
}

/** Every line console.log prints from now until restore(), still printed. */
function capturePrinted(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
    log(...args);
  };
  return { lines, restore: () => { console.log = log; } };
}

async function bench(program: Command, opts: BenchOptions): Promise<void> {
  if (opts.compare !== undefined) {
    const others = Object.keys(opts).filter((name) => name !== 'compare' && program.getOptionValueSource(name) === 'cli');
    if (others.length > 0) throw new Error(`--compare runs no benchmark, so ${others.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} cannot take effect: leave them out`);
    compareTrainRecords(...opts.compare);
    return;
  }
  const warmup = positive(opts.warmup, opts.quick ? 1 : 3, '--warmup');
  const rounds = positive(opts.rounds, opts.quick ? 8 : 16, '--rounds');
  const perRound = positive(opts.stepsPerRound, opts.quick ? 1 : 2, '--steps-per-round');
  const batchSize = positive(opts.batchSize, 128, '--batch-size');
  const threads = useAllCores();
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${threads} threads)`);
  const outDir = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-train-'));
  const built: Built[] = [];
  const loaders: DataLoader[] = [];
  let contenders: [Contender, Contender];
  let timer: StepPhaseTimer | undefined;
  try {
    for (const name of opts.recipes) built.push(buildContender(name, batchSize, outDir));
    const [h, s] = built as [Built, Built];
    loaders.push(loaderFor(h, batchSize));
    if (!sameBatches(h, s)) loaders.push(loaderFor(s, batchSize));
    contenders = [withSource({ ...h, loader: loaders[0]! }), withSource({ ...s, loader: loaders.at(-1)! })];
    if (opts.batches !== undefined) {
      const decoded = await decodeBatches(contenders, opts.batches);
      for (const c of contenders) {
        let i = 0;
        c.next = async () => decoded.get(c.loader)![i++ % opts.batches!]!;
      }
      for (const loader of loaders.splice(0)) await loader.close();
    }
    const [first, second] = contenders;
    timer = opts.phases ? new StepPhaseTimer(() => performance.now()) : undefined;
    for (const c of contenders) timer?.install(c.parts);
    for (const c of contenders) {
      const w = await runSteps(c, warmup);
      console.log(`${c.name}: ${warmup} warm-up step(s), ${(w.images / (w.wait + w.compute)).toFixed(1)} img/s`);
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) c.rounds.push(await runSteps(c, perRound, timer));
      const rate = (c: Contender): number => { const x = c.rounds[r]!; return x.images / (x.wait + x.compute); };
      console.log(`round ${r + 1}/${rounds}: ${first.name} ${rate(first).toFixed(1)} img/s, ${second.name} ${rate(second).toFixed(1)} img/s`);
    }
  } finally {
    timer?.restore();
    // Closing may still print (a feature cache's summary): before the report, whose last line is the ratio.
    for (const c of built) c.parts.objective.close?.();
    for (const loader of loaders) await loader.close();
    rmSync(outDir, { recursive: true, force: true });
  }
  const [first, second] = contenders;
  const kind = pairKind(opts.recipes);
  const shared = first.loader === second.loader;
  const skipped = shared ? first.loader.skips.summary() : contenders.map((c) => `${c.name}: ${c.loader.skips.summary()}`).join('; ');
  if (opts.phases) reportPhases(first, second, kind);
  const source = opts.batches === undefined ? 'the loader running beside the steps' : `${opts.batches} batch(es) decoded before timing, cycled`;
  report(first, second, kind, { batchSize, threads, shared, skipped, source });
}

/** A contender whose batches come from its loader (until --batches replaces them). */
function withSource(c: Omit<Contender, 'next'>): Contender {
  return { ...c, next: () => c.loader.next() };
}

/** n batches from each distinct loader, in the order a contender would draw them, before any timed step. */
async function decodeBatches(contenders: Contender[], n: number): Promise<Map<DataLoader, Batch[]>> {
  const decoded = new Map<DataLoader, Batch[]>();
  for (const { loader, name } of contenders) {
    if (decoded.has(loader)) continue;
    const batches: Batch[] = [];
    for (let i = 0; i < n; i++) {
      const batch = await loader.next();
      if (batch === null) throw new Error(`${name}: the training data ran out after ${i} of --batches ${n}`);
      batches.push(batch);
    }
    decoded.set(loader, batches);
  }
  console.log(`decoded ${n} batch(es) before timing; the steps cycle through them with no loader running`);
  return decoded;
}

/** Column labels and the key of the final ratio line: a twin pair keeps the names its records have always used. */
function labels(kind: PairKind): { first: string; second: string; key: string } {
  return kind === 'twin'
    ? { first: 'HyperCLIP', second: 'SigLIP', key: 'hyperclip_to_siglip' }
    : { first: 'first', second: 'second', key: 'first_to_second' };
}

/** Wall ms per timed step in each phase, both recipes and their difference, and the data wait beside them. */
function reportPhases(first: Contender, second: Contender, kind: PairKind): void {
  const steps = (c: Contender): number => c.rounds.reduce((a, r) => a + r.steps, 0);
  const perStep = (c: Contender, phase: Phase): number => (c.phases.get(phase) ?? 0) / steps(c);
  const width = Math.max(...PHASES.map((p) => p.length), 'data wait'.length);
  const row = (label: string, a: number, b: number): string => `${label.padEnd(width)} ${a.toFixed(0).padStart(10)} ${b.toFixed(0).padStart(10)} ${(a - b).toFixed(0).padStart(10)}`;
  const { first: firstLabel, second: secondLabel } = labels(kind);
  console.log(`${'wall ms per step'.padEnd(width)} ${firstLabel.padStart(10)} ${secondLabel.padStart(10)} ${'extra'.padStart(10)}`);
  for (const phase of PHASES) console.log(row(phase, perStep(first, phase), perStep(second, phase)));
  const waitPerStep = (c: Contender): number => 1000 * c.rounds.reduce((a, r) => a + r.wait, 0) / steps(c);
  console.log(row('data wait', waitPerStep(first), waitPerStep(second)));
}

function report(first: Contender, second: Contender, kind: PairKind, info: { batchSize: number; threads: number; shared: boolean; skipped: string; source: string }): void {
  const f = summarise(first), s = summarise(second);
  const roundRatios = first.rounds.map((r, i) => {
    const o = second.rounds[i]!;
    return (r.images / (r.wait + r.compute)) / (o.images / (o.wait + o.compute));
  });
  for (const [c, x] of [[first, f], [second, s]] as const) {
    console.log(`${c.name}: ${x.images} images in ${x.seconds.toFixed(1)} s timed; ${x.computeRate.toFixed(1)} img/s in the step alone; ` +
      `data wait ${(100 * x.waitShare).toFixed(1)}% of the time; ${(1000 * x.cpuPerImage).toFixed(1)} CPU ms per image`);
  }
  const data = first.config.data.map((d) => d.dataset).join(' + ');
  const sizes = [...new Set([first, second].map((c) => c.parts.model.config.image.imageSize))].map((px) => `${px} px`).join(' vs ');
  console.log(`${first.name} vs ${second.name}: batch ${info.batchSize}, ${sizes}, ${info.threads} threads, ${data} with augmentation` +
    `${info.shared ? '' : ' (a loader each)'}; ${info.source}; ${info.skipped}`);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`ratio over all timed steps: ${(f.rate / s.rate).toFixed(3)}; per-round ratios: ${roundRatios.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`data_wait_share=${((first.rounds.reduce((a, r) => a + r.wait, 0) + second.rounds.reduce((a, r) => a + r.wait, 0)) / (f.seconds + s.seconds)).toFixed(4)}`);
  // CPU time per image moves less with other processes' load than wall time does (a cross-check, not the target figure).
  console.log(`cpu_time_ratio=${(s.cpuPerImage / f.cpuPerImage).toFixed(3)}`);
  const { first: firstLabel, second: secondLabel, key } = labels(kind);
  console.log(`${firstLabel.toLowerCase()}_img_per_s=${f.rate.toFixed(1)}`);
  console.log(`${secondLabel.toLowerCase()}_img_per_s=${s.rate.toFixed(1)}`);
  const [low, high] = bootstrapMedianInterval(roundRatios, createRng(1));
  console.log(`ratio_median_95pct_interval=${low.toFixed(3)}-${high.toFixed(3)} (bootstrap over the rounds)`);
  console.log(`${key}_ratio=${median(roundRatios).toFixed(3)}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:train: ${error.message}`);
  process.exit(1);
});
