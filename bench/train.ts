// Training throughput: tiny-hyperclip and tiny-siglip side by side in one run,
// on the same threads, the same data (Flickr8k train at 64 px through the
// real loader with training augmentation) and the trainer's own optimiser
// and step. Rounds alternate which model goes first, so machine-load drift
// hits both equally; the ratio is the median of the per-round ratios (many
// short rounds: on a loaded machine single rounds swing by +-50%).
//   npm run bench:train -- --quick
import { loadavg } from 'node:os';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { manualSeed, useAllCores } from '../src/engine/index.js';
import { createLoader, trainPreprocess, type DataLoader } from '../src/data/index.js';
import { Tokenizer } from '../src/data/tokenizer/index.js';
import { HyperClip } from '../src/models/index.js';
import { loaderSources } from '../src/train/data-sources.js';
import { RECIPES, type TrainConfig } from '../src/train/recipes.js';
import { warmupCosine } from '../src/train/schedule.js';
import { ContrastiveLoss } from '../src/train/objectives/contrastive-loss.js';
import { createOptimizer } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train-step.js';
import { modelConfigFor } from '../src/train/trainer.js';
import type { AdamW } from '../src/engine/index.js';

interface Contender {
  name: string;
  config: TrainConfig;
  model: HyperClip;
  optimizer: AdamW;
  step: number;
  /** Per round: images, seconds waiting for data, seconds in the step. */
  rounds: Round[];
}

/** Images, seconds waiting for data, seconds in the step, and process CPU seconds during the step (all threads, decode workers included). */
interface Round { images: number; wait: number; compute: number; cpu: number }

interface BenchOptions { quick?: boolean; warmup?: string; rounds?: string; stepsPerRound?: string; batchSize: string }

function buildContender(recipe: string, tokenizer: Tokenizer, batchSize: number): Contender {
  const config = { ...structuredClone(RECIPES[recipe]!), batchSize };
  manualSeed(config.seed);
  // As the trainer builds it, less the word-prior initialisation of token embeddings (no effect on speed).
  const modelConfig = modelConfigFor(config, tokenizer);
  const model = new HyperClip(modelConfig).train();
  return { name: recipe, config, model, optimizer: createOptimizer(model, config), step: 0, rounds: [] };
}

/** Runs `steps` training steps of one contender; returns images, data-wait and step seconds. */
async function runSteps(c: Contender, loader: DataLoader, tokenizer: Tokenizer, steps: number): Promise<Round> {
  let images = 0, wait = 0, compute = 0, cpu = 0;
  for (let i = 0; i < steps; i++) {
    const asked = performance.now();
    const batch = await loader.next();
    if (batch === null) throw new Error('the training data ran out: check /work/shared/data/flickr8k');
    const got = performance.now();
    const cpuBefore = process.cpuUsage();
    c.optimizer.lr = warmupCosine(c.step, { lr: c.config.lr, warmupSteps: c.config.warmupSteps, totalSteps: c.config.steps, minLrRatio: c.config.minLrRatio });
    const { loss } = trainStep(new ContrastiveLoss({ model: c.model, tokenizer, positives: c.config.positives }), c.optimizer, c.config.gradClip, batch);
    if (!Number.isFinite(loss)) throw new Error(`${c.name}: loss is ${loss} at step ${c.step}`);
    const used = process.cpuUsage(cpuBefore);
    cpu += (used.user + used.system) / 1e6;
    c.step++;
    images += batch.size; wait += (got - asked) / 1000; compute += (performance.now() - got) / 1000;
  }
  return { images, wait, compute, cpu };
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

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
  .option('--batch-size <n>', 'images per step', '128');

async function main(): Promise<void> {
  const opts = cli().parse().opts<BenchOptions>();
  const warmup = positive(opts.warmup, opts.quick ? 1 : 3, '--warmup');
  const rounds = positive(opts.rounds, opts.quick ? 8 : 16, '--rounds');
  const perRound = positive(opts.stepsPerRound, opts.quick ? 1 : 2, '--steps-per-round');
  const batchSize = positive(opts.batchSize, 128, '--batch-size');
  const threads = useAllCores();
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${threads} threads)`);
  const tokenizer = Tokenizer.load(RECIPES['tiny-hyperclip']!.tokenizer);
  const contenders = [buildContender('tiny-hyperclip', tokenizer, batchSize), buildContender('tiny-siglip', tokenizer, batchSize)];
  const [hyper, siglip] = contenders as [Contender, Contender];
  const size = hyper.model.config.image.imageSize;
  if (siglip.model.config.image.imageSize !== size) throw new Error('the two presets differ in image size: the comparison would not be fair');
  const base = hyper.config;
  const loader = createLoader({
    sources: loaderSources(base.data), batchSize, seed: base.seed, shuffle: true, dropLast: true,
    preprocess: trainPreprocess(size, { scale: base.cropScale }),
  });
  try {
    for (const c of contenders) {
      const w = await runSteps(c, loader, tokenizer, warmup);
      console.log(`${c.name}: ${warmup} warm-up step(s), ${(w.images / (w.wait + w.compute)).toFixed(1)} img/s`);
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) c.rounds.push(await runSteps(c, loader, tokenizer, perRound));
      const rate = (c: Contender): number => { const x = c.rounds[r]!; return x.images / (x.wait + x.compute); };
      console.log(`round ${r + 1}/${rounds}: hyperclip ${rate(hyper).toFixed(1)} img/s, siglip ${rate(siglip).toFixed(1)} img/s`);
    }
  } finally {
    await loader.close();
  }
  report(hyper, siglip, { batchSize, size, threads, skipped: loader.skips.summary() });
}

function report(hyper: Contender, siglip: Contender, info: { batchSize: number; size: number; threads: number; skipped: string }): void {
  const h = summarise(hyper), s = summarise(siglip);
  const roundRatios = hyper.rounds.map((r, i) => {
    const o = siglip.rounds[i]!;
    return (r.images / (r.wait + r.compute)) / (o.images / (o.wait + o.compute));
  });
  for (const [c, x] of [[hyper, h], [siglip, s]] as const) {
    console.log(`${c.name}: ${x.images} images in ${x.seconds.toFixed(1)} s timed; ${x.computeRate.toFixed(1)} img/s in the step alone; ` +
      `data wait ${(100 * x.waitShare).toFixed(1)}% of the time; ${(1000 * x.cpuPerImage).toFixed(1)} CPU ms per image`);
  }
  console.log(`batch ${info.batchSize}, ${info.size} px, ${info.threads} threads, Flickr8k train with augmentation; ${info.skipped}`);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`ratio over all timed steps: ${(h.rate / s.rate).toFixed(3)}; per-round ratios: ${roundRatios.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`data_wait_share=${((hyper.rounds.reduce((a, r) => a + r.wait, 0) + siglip.rounds.reduce((a, r) => a + r.wait, 0)) / (h.seconds + s.seconds)).toFixed(4)}`);
  // CPU time per image moves less with other processes' load than wall time does (a cross-check, not the target figure).
  console.log(`cpu_time_ratio=${(s.cpuPerImage / h.cpuPerImage).toFixed(3)}`);
  console.log(`hyperclip_img_per_s=${h.rate.toFixed(1)}`);
  console.log(`siglip_img_per_s=${s.rate.toFixed(1)}`);
  console.log(`hyperclip_to_siglip_ratio=${median(roundRatios).toFixed(3)}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:train: ${error.message}`);
  process.exit(1);
});
