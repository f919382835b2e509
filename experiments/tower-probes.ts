// Probes of the recipe on a locked ImageNet tower (issue 25): resolution,
// how many stages' norms are generated, locked or slowly tuned.
//   npm run experiment:tower-probes                     # train the missing probes (seed 0), then docs/tower-probes.md
//   npm run experiment:tower-probes -- --report-only    # rebuild docs/tower-probes.md from the run folders
// Each probe trains into <out>/<recipe>-s<seed>/; a finished one is skipped,
// a stopped one resumes from its checkpoint. The baseline is E3's HyperCLIP
// runs in runs/experiment (trained by `npm run experiment -- --configs E3`).
import { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checked, integer } from '../src/cli/parse.js';
import { useAllCores } from '../src/engine/index.js';
import { resolveTrainConfig, type TrainConfig } from '../src/train/recipes.js';
import { train } from '../src/train/trainer.js';
import { isEntryPoint } from '../tools/script-entry.js';
import { parseSeeds } from './hyperclip-vs-siglip/plan.js';
import { checkSameConfig, hasSummary, lineReporter, runExperiment, say, writeHost } from './lib/training-run.js';
import { BASELINE_OUT, DEFAULT_OUT, DEFAULT_SEEDS, PROBES, REPORT_FILE, parseProbes, probeRunName, type Probe } from './tower-probes/plan.js';
import { buildProbeReport, isComplete, readProbeInput } from './tower-probes/report.js';

interface Options {
  probes?: string;
  seeds: string;
  steps?: number;
  validationLimit?: number;
  out: string;
  baselineOut: string;
  report?: string;
  reportOnly?: boolean;
}

const SAME_OPTIONS = 'pass the options it was run with (--steps, --validation-limit)';

export function probeConfig(probe: Probe, seed: number, opts: Pick<Options, 'steps' | 'validationLimit'>): TrainConfig {
  const config = resolveTrainConfig(probe.recipe, undefined, { seed, steps: opts.steps });
  if (opts.validationLimit !== undefined) {
    const n = opts.validationLimit;
    config.validation = { ...config.validation, retrievalLimit: n, tinyImagenetLimit: n, heldOutLimit: n };
  }
  // The figures are read at the last step: a quick check with --steps validates there too.
  if (opts.steps !== undefined) config.validateEvery = opts.steps;
  return config;
}

async function runProbe(probe: Probe, seed: number, opts: Options): Promise<'done' | 'skipped'> {
  const dir = path.join(opts.out, probeRunName(probe.recipe, seed));
  const label = `[probe ${probeRunName(probe.recipe, seed)}]`;
  const config = probeConfig(probe, seed, opts);
  if (hasSummary(dir)) {
    checkSameConfig(dir, config, SAME_OPTIONS);
    return 'skipped';
  }
  const resume = existsSync(path.join(dir, 'train-config.json'));
  if (!resume) say(`${label} starting: ${config.steps} steps, batch ${config.batchSize}`);
  const summary = await train(config, { outDir: dir, resume, reporter: lineReporter(label) });
  writeHost(dir);
  say(`${label} trained: final loss ${summary.finalLoss.toFixed(4)}, ${summary.imagesPerSecond.toFixed(1)} img/s`);
  return 'done';
}

function reportFile(opts: Options): string {
  if (opts.report) return opts.report;
  // Only the real probes may write docs/: a quick check elsewhere keeps its report beside its runs.
  return path.resolve(opts.out) === path.resolve(DEFAULT_OUT) ? REPORT_FILE : path.join(opts.out, 'report.md');
}

function writeProbeReport(opts: Options, seeds: number[]): { file: string; finished: number; planned: number } {
  const command = path.resolve(opts.out) === path.resolve(DEFAULT_OUT)
    ? 'npm run experiment:tower-probes -- --report-only'
    : `npm run experiment:tower-probes -- --report-only --out ${opts.out} --baseline-out ${opts.baselineOut}`;
  const input = readProbeInput(opts.out, opts.baselineOut, seeds, command);
  const file = reportFile(opts);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, buildProbeReport(input));
  const runs = input.probes.flatMap((p) => p.runs);
  return { file, finished: runs.filter(isComplete).length, planned: runs.length };
}

async function main(opts: Options): Promise<void> {
  const probes = opts.probes === undefined ? [...PROBES] : parseProbes(opts.probes);
  const seeds = parseSeeds(opts.seeds);
  let done = 0, skipped = 0;
  const failed: string[] = [];
  if (!opts.reportOnly) {
    useAllCores();
    for (const seed of seeds) {
      for (const probe of probes) {
        try {
          (await runProbe(probe, seed, opts)) === 'done' ? done++ : skipped++;
        } catch (err) {
          failed.push(probeRunName(probe.recipe, seed));
          say(`[probe ${probeRunName(probe.recipe, seed)}] FAILED: ${(err as Error).message}`);
        }
        writeProbeReport(opts, seeds);
      }
    }
  }
  const { file, finished, planned } = writeProbeReport(opts, seeds);
  console.log(`tower probes: ${finished} of ${planned} probe runs finished (${done} trained now, ${skipped} already complete, ` +
    `${failed.length} failed${failed.length ? `: ${failed.join(', ')}` : ''}); report in ${file}`);
  if (failed.length > 0) process.exitCode = 1;
}

export const cli = (): Command => new Command('tower-probes')
  .description('train one-lever probes of E3\'s HyperCLIP recipe on MobileNet v2 and compare their validation figures with E3\'s seeds')
  .option('--probes <list>', `which probes, comma-separated (default: all): ${PROBES.map((p) => p.recipe.replace(/^mnv2-hyperclip-lit-/, '')).join(', ')}`, checked(parseProbes))
  .option('--seeds <list>', 'seeds, comma-separated', checked(parseSeeds), DEFAULT_SEEDS)
  .option('--steps <n>', 'override the step count (quick checks only: a resumed run must keep the same value)', integer('steps'))
  .option('--validation-limit <n>', 'override the validation sample counts (quick checks only)', integer('validation-limit'))
  .option('--out <dir>', 'the probes\' folder, one subfolder per run', DEFAULT_OUT)
  .option('--baseline-out <dir>', 'where E3\'s HyperCLIP runs are', BASELINE_OUT)
  .option('--report <file>', `where to write the report (default: ${REPORT_FILE} for the default --out, else <out>/report.md)`)
  .option('--report-only', 'only rebuild the report from the run folders')
  .addHelpText('after', '\nExamples:\n  npm run experiment:tower-probes\n  npm run experiment:tower-probes -- --report-only\n' +
    '  npm run experiment:tower-probes -- --probes px96 --steps 2 --validation-limit 16 --out /tmp/probe-check');

if (isEntryPoint(import.meta.url)) runExperiment<Options>('tower-probes', cli(), main);
