// The HyperCLIP-vs-SigLIP experiment in one command (issues 5 and 21):
//   npm run experiment                      # configurations A,B,C,D × seeds 0,1,2, then docs/results.md
//   npm run experiment -- --report-only     # rebuild docs/results.md and docs/plots/ from runs/experiment
// Each run trains into <out>/<recipe>-s<seed>/ (finished runs are skipped,
// stopped ones resumed from their checkpoint), is evaluated into eval.json,
// and the report is rebuilt after every run so it always shows the state.
import { Command } from 'commander';
import { isEntryPoint } from '../tools/script-entry.js';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { checked, integer } from '../src/cli/parse.js';
import { useAllCores } from '../src/engine/index.js';
import { MODEL_FILES } from '../src/models/folder-layout.js';
import { resolveTrainConfig, TIN_CLASSIFY_RUN, type TrainConfig } from '../src/train/recipes.js';
import { train } from '../src/train/trainer.js';
import { evaluateRun, existingEval } from './hyperclip-vs-siglip/evaluate.js';
import { DEFAULT_CONFIGS, DEFAULT_OUT, DEFAULT_SEEDS, parseConfigurations, parseModels, parseSeeds, reportScope, runName, type Configuration, type ModelKind } from './hyperclip-vs-siglip/plan.js';
import { checkSameConfig, hasSummary, lineReporter, runExperiment, say, writeHost } from './lib/training-run.js';
import { recordInvocation, writeReport } from './hyperclip-vs-siglip/write-report.js';

interface Options {
  configs: string;
  seeds: string;
  models: string;
  steps?: number;
  evalLimit?: number;
  validationLimit?: number;
  out: string;
  report?: string;
  reportOnly?: boolean;
}

const SAME_OPTIONS = 'pass the options it was run with (--steps, --validation-limit)';

function runConfig(recipe: string, seed: number, opts: Options): TrainConfig {
  const config = resolveTrainConfig(recipe, undefined, { seed, steps: opts.steps });
  if (opts.validationLimit !== undefined) {
    config.validation = { cifar10Limit: opts.validationLimit, retrievalLimit: opts.validationLimit };
    if (config.objective === 'classify') config.validation.tinyImagenetLimit = opts.validationLimit;
  }
  // The first stage lives in this experiment's own folder (a quick check under /tmp uses its own).
  if (config.init?.from === TIN_CLASSIFY_RUN && path.resolve(opts.out) !== path.resolve(DEFAULT_OUT)) {
    config.init = { ...config.init, from: path.join(opts.out, path.basename(TIN_CLASSIFY_RUN)) };
  }
  return config;
}

/** Trains a configuration's shared first stage (seed 0) unless its run is complete. */
async function ensureStage1(recipe: string, opts: Options): Promise<void> {
  const dir = path.join(opts.out, runName(recipe, 0));
  const label = `[stage 1 ${runName(recipe, 0)}]`;
  const config = runConfig(recipe, 0, opts);
  if (hasSummary(dir)) {
    checkSameConfig(dir, config, SAME_OPTIONS);
    return;
  }
  const resume = existsSync(path.join(dir, 'train-config.json'));
  const summary = await train(config, { outDir: dir, resume, reporter: lineReporter(label) });
  writeHost(dir);
  say(`${label} trained: final loss ${summary.finalLoss.toFixed(4)}, ${summary.imagesPerSecond.toFixed(1)} img/s`);
}

/** Trains (or resumes) and evaluates one run; returns a one-word outcome. */
async function oneRun(c: Configuration, model: ModelKind, seed: number, opts: Options): Promise<'done' | 'skipped'> {
  const recipe = c.recipes[model];
  const dir = path.join(opts.out, runName(recipe, seed));
  const label = `[${c.id} ${runName(recipe, seed)}]`;
  const limit = opts.evalLimit ?? null;
  // A finished run is its eval.json: weights are not committed, so a fresh checkout has the record but no model/.
  if (existingEval(dir, limit) !== null) {
    checkSameConfig(dir, runConfig(recipe, seed, opts), SAME_OPTIONS);
    return 'skipped';
  }
  if (!existsSync(path.join(dir, 'model', MODEL_FILES.config))) {
    const config = runConfig(recipe, seed, opts);
    const resume = existsSync(path.join(dir, 'train-config.json'));
    if (!resume) say(`${label} starting: ${config.steps} steps, batch ${config.batchSize}`);
    const summary = await train(config, { outDir: dir, resume, reporter: lineReporter(label) });
    writeHost(dir);
    say(`${label} trained: final loss ${summary.finalLoss.toFixed(4)}, ${summary.imagesPerSecond.toFixed(1)} img/s`);
  }
  say(`${label} evaluating${limit === null ? ' on the full test sets' : ` on ${limit} samples per set`}`);
  await evaluateRun(dir, recipe, seed, limit, (text) => say(`${label}${text}`));
  return 'done';
}

function reportFile(opts: Options): string {
  if (opts.report) return opts.report;
  // Only the real experiment may write docs/: a quick check elsewhere keeps its report beside its runs.
  return path.resolve(opts.out) === path.resolve(DEFAULT_OUT) ? path.join('docs', 'results.md') : path.join(opts.out, 'report', 'results.md');
}

async function main(opts: Options): Promise<void> {
  const configurations = parseConfigurations(opts.configs);
  const seeds = parseSeeds(opts.seeds);
  const models = parseModels(opts.models);
  // Recomputed at each write: a run trained now adds its folder.
  const target = () => ({ outDir: opts.out, reportFile: reportFile(opts), ...reportScope(configurations, seeds, existsSync(opts.out) ? readdirSync(opts.out) : []) });
  let done = 0, skipped = 0;
  const failed: string[] = [];
  if (!opts.reportOnly) {
    useAllCores();
    recordInvocation(opts.out, ['npm run experiment --', ...process.argv.slice(2)].join(' '));
    for (const c of configurations) {
      if (c.stage1 !== undefined) {
        try {
          await ensureStage1(c.stage1, opts);
        } catch (err) {
          failed.push(runName(c.stage1, 0));
          say(`[stage 1 ${runName(c.stage1, 0)}] FAILED: ${(err as Error).message}`);
          continue;
        }
      }
      for (const seed of seeds) {
        for (const model of models) {
          try {
            (await oneRun(c, model, seed, opts)) === 'done' ? done++ : skipped++;
          } catch (err) {
            failed.push(runName(c.recipes[model], seed));
            say(`[${c.id} ${runName(c.recipes[model], seed)}] FAILED: ${(err as Error).message}`);
          }
          await writeReport(target());
        }
      }
    }
  }
  const finalTarget = target();
  const { runs } = await writeReport(finalTarget);
  const evaluated = runs.filter((r) => r.status === 'evaluated').length;
  console.log(`experiment: ${evaluated} of ${runs.length} runs evaluated (${done} trained or evaluated now, ${skipped} already complete, ` +
    `${failed.length} failed${failed.length ? `: ${failed.join(', ')}` : ''}); report in ${finalTarget.reportFile}`);
  if (failed.length > 0) process.exitCode = 1;
}

export const cli = (): Command => new Command('hyperclip-vs-siglip')
  .description('train tiny HyperCLIP and SigLIP over seeds, evaluate zero-shot and retrieval, write the results report')
  .option('--configs <list>', 'configurations: A (Flickr8k train), B (Flickr8k + CIFAR-100 train), C (A with the word prior frozen), ' +
    'D (Flickr8k + Tiny ImageNet, two stages), E1-E3 (locked ImageNet-pretrained MobileNets), W3 (E3 with the warm start), W4 (W3 with a longer warm start and WordNet node tasks)', checked(parseConfigurations), DEFAULT_CONFIGS)
  .option('--seeds <list>', 'seeds, comma-separated', checked(parseSeeds), DEFAULT_SEEDS)
  .option('--models <list>', 'which side of each pair: hyperclip, siglip or both (the report still covers every run on disk)', checked(parseModels), 'hyperclip,siglip')
  .option('--steps <n>', 'override every recipe\'s step count (quick checks only: a resumed run must keep the same value)', integer('steps'))
  .option('--eval-limit <n>', 'evaluate on n samples per test set instead of the full sets', integer('eval-limit'))
  .option('--validation-limit <n>', 'override the recipes\' in-training validation sample counts (0 turns it off; quick checks only)', integer('validation-limit', 0))
  .option('--out <dir>', 'the experiment folder, one subfolder per run', DEFAULT_OUT)
  .option('--report <file>', 'where to write the report (default: docs/results.md for the default --out, else <out>/report/results.md)')
  .option('--report-only', 'only rebuild the report and plots from what --out holds')
  .addHelpText('after', '\nExamples:\n  npm run experiment\n  npm run experiment -- --report-only\n' +
    '  npm run experiment -- --configs A --seeds 0 --steps 3 --eval-limit 64 --validation-limit 0 --out /tmp/exp-check');

if (isEntryPoint(import.meta.url)) runExperiment<Options>('hyperclip-vs-siglip', cli(), main);
