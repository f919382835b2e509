// Where HyperCLIP's training step spends more than SigLIP's: CPU time (not
// wall time: it moves less with other processes' load) on one thread,
// medians over rounds.
//
// Without --recipes: forward + backward of the tiny presets on random 64-px
// images and captions, every variant once per round:
//   siglip                 tiny-siglip's training loss
//   hyperclip              tiny-hyperclip's training loss
//   hyperclip, unfused     the same with every norm as batchNorm + addcmul, then its activation
//                          (before BatchNorm2d.forwardClamped's one-pass channelAffine, which
//                          takes norms with running statistics only: on these presets the same)
//   hyperclip, mul+add     unfused, and the per-sample affine as a separate mul and add (before addcmul)
//   image, base norms      tiny-hyperclip's image encoder with its own norm parameters
//   image, generated norms the image encoder with per-sample generated norms (gradient into them)
//   text + hypernetwork    text encoder and hypernetwork, their gradient
//   npm run bench:train-overhead -- --rounds 15
//
// With --recipes HYPER,SIGLIP: the trainer's whole step (trainStep: loss,
// backward, clipping, AdamW) of both recipes, built as the trainer builds
// them (bench:train's buildTrainParts: frozen prefix, distillation), on one
// real batch of their data, and where each step's CPU time goes: the frozen
// prefix, the text encoder's forward, the hypernetwork's forward, the image
// encoder's layers after the prefix, the distillation teacher's logits
// (its layers after the prefix and head), backward, the optimiser; --unfused
// adds HYPER with the standard norm ops.
//   npm run bench:train-overhead -- --recipes mnv1-025-hyperclip-lit,mnv1-025-siglip-lit --rounds 5
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { integer } from '../src/cli/parse.js';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { cpuMs, PHASES, StepPhaseTimer, type Phases } from './lib/step-phases.js';
import { BatchNorm2d, F, Tensor, keep, manualSeed, noGrad, randint, randn, setNumThreads, tidy } from '../src/engine/index.js';
import { createLoader } from '../src/data/index.js';
import { HyperClip, resolveConfig } from '../src/models/index.js';
import { singleProcess } from '../src/train/distributed.js';
import { RECIPES } from '../src/train/recipes.js';
import { silentReporter } from '../src/train/reporter.js';
import { trainStep } from '../src/train/train-step.js';
import { buildTrainParts, type TrainParts } from '../src/train/trainer.js';

/** The per-sample affine as it was before addcmul: normalise, then mul, then add. */
function mulAddForward(this: BatchNorm2d, x: Tensor, scale: Tensor = this.weight, shift: Tensor = this.bias): Tensor {
  const options = { training: this.training && !this.frozenStatistics, momentum: this.momentum, eps: this.eps };
  if (scale.ndim === 1 && shift.ndim === 1) return F.batchNorm(x, this.runningMean, this.runningVar, scale, shift, options);
  const normalized = F.batchNorm(x, this.runningMean, this.runningVar, null, null, options);
  return normalized.mul(scale.reshape([scale.size(0), this.channels, 1, 1])).add(shift.reshape([shift.size(0), this.channels, 1, 1]));
}

/** The per-sample affine as addcmul, before channelAffine: what forward() does under a tracer. */
function addcmulForward(this: BatchNorm2d, x: Tensor, scale: Tensor = this.weight, shift: Tensor = this.bias): Tensor {
  const options = { training: this.training && !this.frozenStatistics, momentum: this.momentum, eps: this.eps };
  if (scale.ndim === 1 && shift.ndim === 1) return F.batchNorm(x, this.runningMean, this.runningVar, scale, shift, options);
  const normalized = F.batchNorm(x, this.runningMean, this.runningVar, null, null, options);
  return F.addcmul(shift.reshape([shift.size(0), this.channels, 1, 1]), normalized, scale.reshape([scale.size(0), this.channels, 1, 1]));
}

/** Runs fn with BatchNorm2d's forward replaced and its fused clamp off: the norms as the standard ops, then each layer's activation. */
function withNormForward<T>(forward: typeof BatchNorm2d.prototype.forward, fn: () => T): T {
  const proto = BatchNorm2d.prototype;
  const [savedForward, savedClamped] = [proto.forward, proto.forwardClamped];
  proto.forward = forward;
  proto.forwardClamped = () => null;
  try {
    return fn();
  } finally {
    proto.forward = savedForward;
    proto.forwardClamped = savedClamped;
  }
}

/**
 * The threads and the clock phases are read on: CPU time (all threads
 * together: what the step costs) or wall time (what a step waits: at 2
 * threads it shows the phases that do not use the second thread). Set once
 * from --threads and --clock.
 */
let setting = { threads: 1, clock: 'cpu' as 'cpu' | 'wall' };

const now = (): number => (setting.clock === 'wall' ? performance.now() : cpuMs());

function timedMs(fn: () => void): number {
  const before = now();
  tidy(fn);
  return now() - before;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export const cli = (): Command => new Command('bench:train-overhead')
  .option('--quick', QUICK)
  .option('--rounds <n>', 'rounds (default 15, quick 3; with --recipes default 5, quick 2)')
  .option('--batch-size <n>', 'batch', '128')
  .option('--recipes <hyper,siglip>', 'profile the trainer\'s step of these two recipes (src/train/recipes.ts) on a real batch')
  .option('--unfused', 'with --recipes: also the HyperCLIP recipe with the standard norm ops (batchNorm + addcmul, then the activation)')
  .option('--threads <n>', 'libtorch threads (bench:train uses 2)', integer('threads', 1, 64), 1)
  .addOption(new Option('--clock <cpu|wall>', 'cpu: CPU time of all threads (what a step costs); wall: elapsed time (what a step waits)').choices(['cpu', 'wall']).default('cpu'));

interface Options { quick?: boolean; rounds?: string; batchSize: string; recipes?: string; unfused?: boolean; threads: number; clock: 'cpu' | 'wall' }

function tinyVariants(rounds: number, batch: number): void {
  manualSeed(0);
  const hyper = new HyperClip(resolveConfig('tiny-hyperclip')).train();
  const siglip = new HyperClip(resolveConfig('tiny-siglip')).train();
  const images = keep(randn([batch, 3, 64, 64]));
  const ids = keep(randint(3, hyper.config.text.vocabSize, [batch, hyper.config.text.contextLength]));
  const groupSize = hyper.config.hypernet!.groupSize;
  const textSets = (): Tensor => F.normalize(hyper.encodeText(ids), -1).reshape([batch / groupSize, groupSize, hyper.config.embedDim]);
  const variants: Record<string, () => void> = {
    'siglip': () => siglip.trainingLoss(images, ids).backward(),
    'hyperclip': () => hyper.trainingLoss(images, ids).backward(),
    'hyperclip, unfused': () => withNormForward(addcmulForward, () => hyper.trainingLoss(images, ids).backward()),
    'hyperclip, mul+add': () => withNormForward(mulAddForward, () => hyper.trainingLoss(images, ids).backward()),
    'image, base norms': () => hyper.encodeImage(images).sum().backward(),
    'image, generated norms': () => {
      const params = hyper.generateNormParams(noGrad(textSets));
      hyper.encodeImage(images, params).sum().backward();
    },
    'text + hypernetwork': () => {
      let total = hyper.logitBias.mul(0);
      for (const { scale, shift } of hyper.generateNormParams(textSets()).values()) total = total.add(scale.sum()).add(shift.sum());
      total.backward();
    },
  };
  const times = new Map(Object.keys(variants).map((k) => [k, [] as number[]]));
  for (const fn of Object.values(variants)) timedMs(fn); // warm-up
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(variants);
    for (const name of r % 2 === 0 ? names : names.reverse()) times.get(name)!.push(timedMs(variants[name]!));
  }
  const m = new Map([...times].map(([k, v]) => [k, median(v)]));
  for (const [name, ms] of m) console.log(`${name.padEnd(24)} ${ms.toFixed(1)} CPU ms`);
  console.log(`batch ${batch}, 64 px, ${setting.threads} thread(s), ${rounds} rounds (${setting.clock === 'cpu' ? 'CPU' : 'wall-clock'} time of forward + backward, medians)`);
  console.log(`step_${setting.clock}_ratio_siglip_to_hyperclip=${(m.get('siglip')! / m.get('hyperclip')!).toFixed(3)}`);
  console.log(`step_${setting.clock}_ratio_siglip_to_hyperclip_unfused=${(m.get('siglip')! / m.get('hyperclip, unfused')!).toFixed(3)}`);
  console.log(`step_${setting.clock}_ratio_siglip_to_hyperclip_mul_add=${(m.get('siglip')! / m.get('hyperclip, mul+add')!).toFixed(3)}`);
}

interface Contender { name: string; parts: TrainParts; gradClip: number; unfused: boolean }
interface Profile { name: string; stepMs: number; phases: Phases }

async function recipeProfiles(recipes: [string, string], rounds: number, batchSize: number, unfused: boolean): Promise<Profile[]> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-overhead-'));
  const restore: (() => void)[] = [];
  const contenders: Contender[] = [];
  try {
    for (const name of recipes) {
      const config = { ...structuredClone(RECIPES[name]!), batchSize };
      const reporter = { ...silentReporter, message: (text: string) => console.log(`${name}: ${text}`) };
      const parts = buildTrainParts(config, { outDir: path.join(outDir, name), resume: false, device: 'cpu', parallel: singleProcess, reporter });
      contenders.push({ name, parts, gradClip: config.gradClip, unfused: false });
    }
    if (unfused) contenders.push({ ...contenders[0]!, name: `${recipes[0]}, unfused`, unfused: true });
    const { sources, preprocess } = contenders[0]!.parts;
    const loader = createLoader({ sources, batchSize, seed: 0, shuffle: true, dropLast: true, preprocess });
    const batch = await loader.next().finally(() => loader.close());
    if (batch === null) throw new Error('no training batch');
    const phases = new Map(contenders.map((c) => [c.name, new Map() as Phases]));
    const timer = new StepPhaseTimer(now);
    restore.push(() => timer.restore());
    for (const c of contenders.slice(0, 2)) timer.install(c.parts);
    const step = (c: Contender, into: Phases): number => {
      const go = (): number => timedMs(() => { timer.timed(into, () => trainStep(c.parts.objective, c.parts.objective.optimizer, c.gradClip, batch)); });
      return c.unfused ? withNormForward(addcmulForward, go) : go();
    };
    const steps = new Map(contenders.map((c) => [c.name, [] as number[]]));
    for (const c of contenders) step(c, new Map()); // warm-up, not recorded
    for (let r = 0; r < rounds; r++) {
      for (const c of r % 2 === 0 ? contenders : [...contenders].reverse()) steps.get(c.name)!.push(step(c, phases.get(c.name)!));
    }
    return contenders.map((c) => {
      const perStep: Phases = new Map([...phases.get(c.name)!].map(([k, v]) => [k, v / rounds]));
      return { name: c.name, stepMs: median(steps.get(c.name)!), phases: perStep };
    });
  } finally {
    for (const undo of restore.reverse()) undo();
    for (const c of contenders.slice(0, 2)) c.parts.objective.close?.();
    rmSync(outDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  const batch = Number(opts.batchSize);
  setNumThreads(opts.threads);
  setting = { threads: opts.threads, clock: opts.clock };
  console.log(`${opts.threads} libtorch thread(s), ${opts.clock === 'wall' ? 'wall-clock' : 'CPU'} ms`);
  if (opts.recipes === undefined) {
    tinyVariants(Number(opts.rounds ?? (opts.quick ? 3 : 15)), batch);
    return;
  }
  const recipes = opts.recipes.split(',').map((n) => n.trim());
  if (recipes.length !== 2 || recipes.some((n) => RECIPES[n] === undefined)) throw new Error(`--recipes: give two known recipes, HyperCLIP's then SigLIP's, got "${opts.recipes}"`);
  const rounds = Number(opts.rounds ?? (opts.quick ? 2 : 5));
  const profiles = await recipeProfiles(recipes as [string, string], rounds, batch, opts.unfused === true);
  const width = Math.max(...PHASES.map((p) => p.length));
  console.log(`${''.padEnd(width)}  ${profiles.map((p) => p.name.padStart(34)).join('')}`);
  for (const phase of PHASES) {
    const cells = profiles.map((p) => {
      const ms = p.phases.get(phase) ?? 0;
      const total = [...p.phases.values()].reduce((a, b) => a + b, 0);
      return `${ms.toFixed(0).padStart(8)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%`.padStart(34);
    });
    console.log(`${phase.padEnd(width)}  ${cells.join('')}`);
  }
  console.log(`${'step (median)'.padEnd(width)}  ${profiles.map((p) => `${p.stepMs.toFixed(0)} ms`.padStart(34)).join('')}`);
  console.log(`batch ${batch}, ${setting.threads} thread(s), ${rounds} rounds of one step each on one real batch (${setting.clock === 'cpu' ? 'CPU' : 'wall-clock'} ms per step; shares of the mean step)`);
  const [hyper, siglip] = profiles as [Profile, Profile];
  console.log(`step_${setting.clock}_ratio_siglip_to_hyperclip=${(siglip.stepMs / hyper.stepMs).toFixed(3)}`);
  const unfused = profiles[2];
  if (unfused !== undefined) console.log(`step_${setting.clock}_ratio_siglip_to_hyperclip_unfused=${(siglip.stepMs / unfused.stepMs).toFixed(3)}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:train-overhead: ${error.message}`);
  process.exit(1);
});
