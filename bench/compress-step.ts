// A compression step (src/compress/) on a trained model, with the encoder
// blocks that the contrastive and the distillation loss share run once per
// pass (what experiment:compression does) and run once for each loss (as
// before), timed side by side: alternating rounds on the same model,
// optimizer, threads and pre-decoded batches, so machine load hits both
// alike. Each step is a SAM step (two forward and backward passes), as
// AdaSAP's and SAM's warm-up and fine-tune steps are. Before timing, both
// losses are computed at the same weights on the same batch: they must agree.
//   npm run bench:compress-step -- [--model models/default] [--rounds 8] [--steps-per-round 2] [--batch-size 64] [--record]
//   npm run bench:compress-step -- --quick      (2 rounds of 1 step at batch 16: a smoke test)
// Last line: the speed-up of sharing, the median of the per-round ratios
// with its bootstrap 95% interval. --record appends the run to
// runs/bench/compress-step.jsonl.
import { Command } from 'commander';
import { hostname } from 'node:os';
import { defaultModelDir, loadBundle } from '../src/bundle/bundle.js';
import { integer } from '../src/cli/parse.js';
import { recipeOf } from '../src/compress/adasap.js';
import { resolveCompressConfig } from '../src/compress/adasap-recipe.js';
import { compressionTraining, sharedTrunkEnd, type BatchPreparer } from '../src/compress/compress-loss.js';
import { optimizationStep } from '../src/compress/sam.js';
import { createLoader, trainPreprocess, type Batch } from '../src/data/index.js';
import { createRng } from '../src/data/random.js';
import { getNumThreads, manualSeed, tidy, useAllCores } from '../src/engine/index.js';
import { loaderSources } from '../src/train/data-sources.js';
import { createOptimizer } from '../src/train/optimizer.js';
import { bootstrapMedianInterval, median } from '../tools/stats.js';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { appendRecord } from './lib/records.js';
import { reportingErrors } from '../tools/script-entry.js';

export const RECORD = 'compress-step';

interface CliOptions { model?: string; quick?: boolean; rounds?: number; stepsPerRound?: number; batchSize?: number; batches: number; record?: boolean }
interface Options { model?: string; rounds: number; stepsPerRound: number; batchSize: number; batches: number; record?: boolean }

/** The settings of a run: what was given, else the full run's defaults, or --quick's. */
export function resolveOptions(cli: CliOptions): Options {
  if (cli.quick && cli.record) throw new Error('--quick is a smoke test, not a measurement to record: drop --record or --quick');
  return {
    model: cli.model, batches: cli.batches, record: cli.record,
    rounds: cli.rounds ?? (cli.quick ? 2 : 8), stepsPerRound: cli.stepsPerRound ?? (cli.quick ? 1 : 2), batchSize: cli.batchSize ?? (cli.quick ? 16 : 64),
  };
}

/** The speed-up of sharing in one round: the separate path's seconds over the shared path's. */
export function roundSpeedups(shared: number[], separate: number[]): number[] {
  if (shared.length !== separate.length) throw new Error(`${shared.length} shared rounds against ${separate.length} separate ones`);
  return shared.map((s, i) => separate[i]! / s);
}

async function main(opts: Options): Promise<void> {
  const output: string[] = [];
  const say = (line: string) => { output.push(line); console.log(line); };
  useAllCores();
  const modelDir = opts.model ?? defaultModelDir();
  const bundle = loadBundle(modelDir);
  const recipe = recipeOf(bundle);
  if (recipe.distill === undefined) throw new Error(`${modelDir}'s recipe ${recipe.name} has no distillation: only one loss continues from the prefix, so there is nothing to share`);
  const config = resolveCompressConfig({ method: 'sam', flopsRatio: 0.5, seed: 0, batchSize: opts.batchSize });
  manualSeed(0);
  const model = bundle.model.train();
  const paths = { shared: compressionTraining(model, recipe, bundle.tokenizer, 0), separate: compressionTraining(model, recipe, bundle.tokenizer, 0, { shareTrunk: false }) };
  const prefix = paths.shared.prefixBlocks!;
  say(`model ${modelDir} (${recipe.name}), batch ${opts.batchSize}, ${getNumThreads()} threads: prefix blocks 0-${prefix - 1} frozen; ` +
    `blocks ${prefix}-${sharedTrunkEnd(model) - 1} shared by the contrastive and the distillation loss (of ${model.imageEncoder.blocks.length})`);
  const loader = createLoader({
    sources: loaderSources(recipe.data), batchSize: opts.batchSize, seed: 0, shuffle: true, dropLast: true,
    preprocess: trainPreprocess(bundle.config.image.imageSize, { scale: recipe.cropScale }),
  });
  const batches: Batch[] = [];
  try {
    for (let i = 0; i < opts.batches; i++) {
      const batch = await loader.next();
      if (batch === null) throw new Error(`the training data ran out after ${i} of ${opts.batches} batches`);
      batches.push(batch);
    }
  } finally {
    await loader.close();
  }
  // The same batch and weights through both: two distillations with one seed draw the same task.
  const lossOf = (prepare: BatchPreparer) => {
    const prepared = prepare(batches[0]!);
    try {
      return tidy(() => prepared.loss().item());
    } finally {
      prepared.dispose();
    }
  };
  const [a, b] = [lossOf(paths.shared.prepare), lossOf(paths.separate.prepare)];
  say(`the same loss both ways: shared ${a.toFixed(6)}, separate ${b.toFixed(6)} (difference ${Math.abs(a - b).toExponential(2)})`);
  if (!(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)))) throw new Error(`the two paths disagree on the loss (${a} vs ${b}): the shared trunk is not the same computation`);

  const optimizer = createOptimizer(model, { ...paths.shared.recipe, lr: config.lr });
  let next = 0;
  const timeSteps = (prepare: BatchPreparer, steps: number): number => {
    const ctx = { model, optimizer, tokenizer: bundle.tokenizer, params: paths.shared.params, gradClip: recipe.gradClip, prepare };
    const start = performance.now();
    for (let s = 0; s < steps; s++) optimizationStep(ctx, batches[next++ % batches.length]!, { kind: 'sam', rho: config.rho });
    return (performance.now() - start) / 1000;
  };
  say('warm-up: one step each, not timed');
  timeSteps(paths.shared.prepare, 1);
  timeSteps(paths.separate.prepare, 1);
  const shared: number[] = [], separate: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    // Alternate who goes first, so a drift in load does not favour one side.
    const order = r % 2 === 0 ? (['shared', 'separate'] as const) : (['separate', 'shared'] as const);
    for (const side of order) (side === 'shared' ? shared : separate).push(timeSteps(paths[side].prepare, opts.stepsPerRound));
    say(`round ${r + 1}/${opts.rounds}: shared ${(shared[r]! / opts.stepsPerRound).toFixed(2)} s/step, separate ${(separate[r]! / opts.stepsPerRound).toFixed(2)} s/step`);
  }
  bundle.model.dispose();
  const ratios = roundSpeedups(shared, separate);
  const [low, high] = bootstrapMedianInterval(ratios, createRng(1));
  say(`per-round speed-ups: ${ratios.map((x) => x.toFixed(3)).join(' ')}`);
  say(`median step: shared ${(median(shared) / opts.stepsPerRound).toFixed(2)} s, separate ${(median(separate) / opts.stepsPerRound).toFixed(2)} s (${opts.batchSize} images, SAM: two passes)`);
  const summary = `shared trunk speed-up: ${median(ratios).toFixed(2)}x (95% bootstrap interval ${low.toFixed(2)}-${high.toFixed(2)}, ${opts.rounds} rounds of ${opts.stepsPerRound} steps)`;
  output.push(summary);
  if (opts.record) {
    const file = appendRecord(RECORD, { event: 'run', command: ['npm run bench:compress-step --', ...process.argv.slice(2)].join(' '), date: new Date().toISOString(), host: hostname(), output });
    console.log(`recorded in ${file}`);
  }
  console.log(summary);
}

export const cli = (): Command => new Command('bench:compress-step')
  .description('a compression (SAM) step with the encoder blocks both losses share run once, against running them for each loss, side by side')
  .option('--model <dir>', 'a trained model folder whose recipe distils from a pretrained head (default: models/default)')
  .option('--quick', QUICK)
  .option('--rounds <n>', 'timed rounds, alternating which path goes first (default 8, quick 2)', integer('rounds', 2))
  .option('--steps-per-round <n>', 'steps of each path per round (default 2, quick 1)', integer('steps-per-round'))
  .option('--batch-size <n>', 'images per step (default 64, as experiment:compression; quick 16)', integer('batch-size', 2))
  .option('--batches <n>', 'batches decoded before timing and cycled, so decoding is not timed', integer('batches'), 2)
  .option('--record', `append the run to runs/bench/${RECORD}.jsonl`);

if (isEntryPoint(import.meta.url)) {
  cli().action(reportingErrors('bench:compress-step', (opts: CliOptions) => main(resolveOptions(opts)))).parseAsync();
}
