// Our training step against PyTorch on the same model, weights, batches,
// learning rates and threads. The model is built as the trainer builds it
// (word prior included) and its weights are saved after our init, so both
// sides start identical; K real Flickr8k train batches (training
// augmentation) are drawn first, so neither side waits for data. PyTorch is
// bench/reference/train_step.py under Debian's python3-torch.
//   npm run bench:train-torch -- --recipe tiny-hyperclip --steps 20 --threads 2
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { manualSeed, setNumThreads, type Tensor } from '../src/engine/index.js';
import { createLoader, trainPreprocess, type Batch } from '../src/data/index.js';
import { Tokenizer, loadWordPrior } from '../src/data/tokenizer/index.js';
import { tokenize } from '../src/eval/text-features.js';
import { HyperClip, initTokenEmbeddingFromPrior } from '../src/models/index.js';
import { loaderSources } from '../src/train/data-sources.js';
import { RECIPES } from '../src/train/recipes.js';
import { warmupCosine } from '../src/train/schedule.js';
import { ContrastiveLoss } from '../src/train/objectives/contrastive-loss.js';
import { createOptimizer } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train-step.js';
import { modelConfigFor } from '../src/train/trainer.js';
import { DEFAULT_PYTHON, compareTensors, loadSnapshot, runTorchReference, snapshot, torchAvailable, writeReferenceInputs } from './reference-train-client.js';

interface Options { quick?: boolean; recipe: string; steps?: string; threads: string; batchSize?: string; python: string; keep?: boolean }

const WARMUP = 2;

const positive = (value: string, flag: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
};

const recipe = (value: string): string => {
  if (RECIPES[value] === undefined) throw new InvalidArgumentError(`unknown recipe "${value}"; known: ${Object.keys(RECIPES).join(', ')}`);
  return value;
};

export const cli = (): Command => new Command('bench:train-torch')
  .option('--quick', QUICK)
  .option('--recipe <name>', 'training recipe (src/train/recipes.ts)', recipe, 'tiny-siglip')
  .option('--steps <k>', 'training steps on each side (default 20, quick 4)')
  .option('--threads <n>', 'intra-op threads on each side', '2')
  .option('--batch-size <n>', 'images per step (default: the recipe\'s)')
  .option('--python <path>', 'python with torch', DEFAULT_PYTHON)
  .option('--keep', 'keep the temporary folder (config, weights, batches)');

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  const base = RECIPES[opts.recipe]!;
  const steps = positive(opts.steps ?? (opts.quick ? '4' : '20'), '--steps');
  if (steps <= WARMUP) throw new Error(`--steps must exceed the ${WARMUP} untimed warm-up steps`);
  const threads = positive(opts.threads, '--threads');
  const config = { ...structuredClone(base), batchSize: opts.batchSize === undefined ? base.batchSize : positive(opts.batchSize, '--batch-size') };
  if (!torchAvailable(opts.python)) throw new Error(`${opts.python} cannot import torch: install Debian's python3-torch or pass --python`);
  setNumThreads(threads);

  // As the trainer's buildModel: seed, model, word prior, train mode.
  const tokenizer = Tokenizer.load(config.tokenizer);
  manualSeed(config.seed);
  const model = new HyperClip(modelConfigFor(config, tokenizer));
  if (config.wordPrior) {
    const prior = loadWordPrior(tokenizer);
    initTokenEmbeddingFromPrior(model.textEncoder, { vectors: prior.vectors, found: prior.found, dim: prior.dimensions });
  }
  model.train();
  const optimizer = createOptimizer(model, config);
  const batchLoss = new ContrastiveLoss({ model, tokenizer, positives: config.positives });

  const loader = createLoader({
    sources: loaderSources(config.data), batchSize: config.batchSize, seed: config.seed, shuffle: true, dropLast: true,
    preprocess: trainPreprocess(model.config.image.imageSize, { scale: config.cropScale }),
  });
  const batches: Batch[] = [];
  try {
    for (let k = 0; k < steps; k++) {
      const b = await loader.next();
      if (b === null) throw new Error('the training data ran out: check /work/shared/data/flickr8k');
      batches.push(b);
    }
  } finally {
    await loader.close();
  }
  const lrs = batches.map((_, k) => warmupCosine(k, { lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps, minLrRatio: config.minLrRatio }));

  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-train-torch-'));
  try {
    const ids: Tensor[] = batches.map((b) => tokenize(tokenizer, b.captions));
    const inputs = writeReferenceInputs(dir, model, batches.map((b, k) => ({ ...b, ids: ids[k]! })));
    for (const t of ids) t.dispose();

    console.log(`${opts.recipe}: ${model.parameterCount()} parameters, batch ${config.batchSize}, ${model.config.image.imageSize} px, ${steps} steps, ${threads} threads`);
    console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const ours = { loss: [] as number[], gradNorm: [] as number[], seconds: [] as number[] };
    let afterOne: Map<string, Float32Array> | null = null;
    for (let k = 0; k < steps; k++) {
      optimizer.lr = lrs[k]!;
      const started = performance.now();
      const { loss, gradNorm } = trainStep(batchLoss, optimizer, config.gradClip, batches[k]!);
      ours.seconds.push((performance.now() - started) / 1000);
      ours.loss.push(loss);
      ours.gradNorm.push(gradNorm);
      if (k === 0) afterOne = snapshot(model.stateDict());
    }
    const weightsFile = path.join(dir, 'torch-after-1.safetensors');
    const gradsFile = path.join(dir, 'torch-grads-1.safetensors');
    const torch = runTorchReference(inputs, {
      lrs, threads, weightDecay: config.weightDecay, gradClip: config.gradClip, weightsAfter: { step: 1, file: weightsFile }, gradsFile, python: opts.python,
    });
    if (torch.threads !== threads) throw new Error(`PyTorch ran ${torch.threads} threads, expected ${threads}`);
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (PyTorch ${torch.torch})`);
    report(opts.recipe, config.batchSize, lrs, ours, torch, afterOne!, loadSnapshot(weightsFile), loadSnapshot(gradsFile));
  } finally {
    if (opts.keep) console.log(`inputs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function report(recipe: string, batch: number, lrs: number[], ours: { loss: number[]; gradNorm: number[]; seconds: number[] },
  torch: { loss: number[]; grad_norm: number[]; step_seconds: number[] }, oursAfterOne: Map<string, Float32Array>,
  torchAfterOne: Map<string, Float32Array>, torchGrads: Map<string, Float32Array>): void {
  console.log('step  lr         loss ours   loss torch  |diff|     gradnorm ours  gradnorm torch  s ours  s torch');
  lrs.forEach((lr, k) => {
    console.log(`${String(k + 1).padStart(4)}  ${lr.toExponential(2).padEnd(9)}  ${ours.loss[k]!.toFixed(6).padStart(10)}  ${torch.loss[k]!.toFixed(6).padStart(10)}  ` +
      `${Math.abs(ours.loss[k]! - torch.loss[k]!).toExponential(2).padStart(9)}  ${ours.gradNorm[k]!.toFixed(3).padStart(13)}  ${torch.grad_norm[k]!.toFixed(3).padStart(14)}  ` +
      `${ours.seconds[k]!.toFixed(3).padStart(6)}  ${torch.step_seconds[k]!.toFixed(3).padStart(7)}`);
  });
  const diffs = compareTensors(oursAfterOne, torchAfterOne);
  const worst = diffs.reduce((a, b) => (b.maxAbs > a.maxAbs ? b : a));
  console.log(`weights and BN statistics after step 1: max |ours - torch| = ${worst.maxAbs.toExponential(3)} (${worst.name}, magnitude ${worst.scale.toExponential(2)}) over ${diffs.length} tensors`);
  // Which parameters the step-1 gradient norm comes from: the norm is clipped to gradClip as a whole.
  const norms = [...torchGrads].map(([name, g]) => ({ name, sq: g.reduce((s, v) => s + v * v, 0) })).sort((a, b) => b.sq - a.sq);
  const total = norms.reduce((s, n) => s + n.sq, 0);
  console.log(`step-1 gradient norm ${Math.sqrt(total).toFixed(3)}; largest shares of its square: ` +
    norms.slice(0, 5).map((n) => `${n.name} ${(100 * n.sq / total).toFixed(1)}%`).join(', '));
  const sum = (xs: number[]) => xs.slice(WARMUP).reduce((a, b) => a + b, 0);
  const timed = lrs.length - WARMUP;
  const oursRate = (batch * timed) / sum(ours.seconds), torchRate = (batch * timed) / sum(torch.step_seconds);
  console.log(`throughput over steps ${WARMUP + 1}-${lrs.length} (step only, data preloaded): ours ${oursRate.toFixed(1)} img/s, torch ${torchRate.toFixed(1)} img/s, ours/torch ${(oursRate / torchRate).toFixed(3)}`);
  // On a loaded machine single steps swing several-fold; the median step resists that better than the mean.
  const median = (xs: number[]) => { const s = xs.slice(WARMUP).sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
  const oursMedian = batch / median(ours.seconds), torchMedian = batch / median(torch.step_seconds);
  console.log(`throughput at the median step: ours ${oursMedian.toFixed(1)} img/s, torch ${torchMedian.toFixed(1)} img/s, ours/torch ${(oursMedian / torchMedian).toFixed(3)}`);
  const lossDiff = Math.abs(ours.loss[0]! - torch.loss[0]!);
  const maxCurveDiff = Math.max(...ours.loss.map((l, k) => Math.abs(l - torch.loss[k]!)));
  console.log(`summary ${recipe}: step-1 loss ours ${ours.loss[0]!.toFixed(6)} torch ${torch.loss[0]!.toFixed(6)} (|diff| ${lossDiff.toExponential(2)}), ` +
    `max loss diff over ${lrs.length} steps ${maxCurveDiff.toExponential(2)}, weights after step 1 within ${worst.maxAbs.toExponential(2)}, ` +
    `ours/torch throughput ${(oursRate / torchRate).toFixed(3)} (${oursRate.toFixed(1)} vs ${torchRate.toFixed(1)} img/s; median step ${(oursMedian / torchMedian).toFixed(3)}; rough on a loaded machine)`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:train-torch: ${error.message}`);
  process.exit(1);
});
