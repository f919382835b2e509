// Few-shot with visual descriptions (issue 15), one command:
//   npm run experiment:fewshot -- --model models/default
// CIFAR-10 (descriptions from WordNet) and CIFAR-100 (the descriptor file),
// shots 1-16 from the train split in 3 draws, a seeded 2000-image test
// sample; SLR-AVD against zero-shot, an L2 linear probe and L1 on the class
// prompts alone. Writes runs/fewshot/<dataset>.json as each dataset
// finishes, then docs/fewshot.md and docs/plots/fewshot-*.png from every
// finished dataset of the same model and plan.
import { Command } from 'commander';
import { isEntryPoint } from '../tools/script-entry.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadBundle } from '../src/bundle/bundle.js';
import { integer } from '../src/cli/parse.js';
import { dataRoot, resolveDataset, type CaptionSource } from '../src/data/index.js';
import { setNumThreads } from '../src/engine/index.js';
import { descriptionsFromFile, descriptionsFromWordNet } from '../src/fewshot/descriptions.js';
import { parseShots } from '../src/fewshot/shots.js';
import { projectRoot } from '../src/project-root.js';
import { runDataset, type DatasetResult, type RunPlan } from './fewshot/dataset-run.js';
import { writeFewShotReport, type FewShotRecord } from './fewshot/report.js';
import { writeJsonAtomic } from '../src/engine/atomic-write.js';

interface Options { model: string; shots: string; draws: number; limit: number; folds: number; datasets: string; threads: number; report: string; reportOnly?: boolean; note?: string }

const say = (text: string): void => { process.stderr.write(`${text}\n`); };

function descriptionsFor(dataset: 'cifar10' | 'cifar100') {
  const { classnames } = resolveDataset(dataset, 'test').caption as Extract<CaptionSource, { kind: 'label' }>;
  const found = dataset === 'cifar100'
    ? descriptionsFromFile(path.join(dataRoot(), 'descriptors', 'descriptors_cifar100.json'), classnames)
    : descriptionsFromWordNet(classnames);
  for (const w of found.warnings) say(`${dataset}: ${w}`);
  return found;
}

const RUN_DIR = path.join(projectRoot(), 'runs', 'fewshot');

interface DatasetFile { model: string; modelName: string; plan: RunPlan; command: string; host: FewShotRecord['host']; finished: string; result: DatasetResult }

/** The finished datasets of this model and plan (each dataset's file is written when it finishes, so runs can be split). */
function finishedDatasets(model: string, plan: RunPlan): DatasetFile[] {
  return ['cifar10', 'cifar100'].map((d) => path.join(RUN_DIR, `${d}.json`)).filter(existsSync)
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as DatasetFile)
    .filter((f) => f.model === model && JSON.stringify(f.plan) === JSON.stringify(plan));
}

async function main(opts: Options): Promise<void> {
  setNumThreads(opts.threads);
  const plan: RunPlan = { shots: parseShots(opts.shots), draws: opts.draws, testLimit: opts.limit, folds: opts.folds };
  const model = path.relative(projectRoot(), path.resolve(opts.model)) || opts.model;
  const host = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', threads: opts.threads, node: process.version };
  const command = ['npm run experiment:fewshot --', ...process.argv.slice(2)].join(' ');
  mkdirSync(RUN_DIR, { recursive: true });
  if (!opts.reportOnly) {
    const bundle = loadBundle(opts.model);
    for (const dataset of opts.datasets.split(',') as ('cifar10' | 'cifar100')[]) {
      if (dataset !== 'cifar10' && dataset !== 'cifar100') throw new Error(`--datasets takes cifar10 and/or cifar100, got ${dataset}`);
      const result = await runDataset(bundle, dataset, descriptionsFor(dataset), plan, say);
      const file: DatasetFile = { model, modelName: bundle.config.name, plan, command, host, finished: new Date().toISOString(), result };
      writeJsonAtomic(path.join(RUN_DIR, `${dataset}.json`), file);
    }
  }
  const done = finishedDatasets(model, plan);
  if (done.length === 0) throw new Error(`no finished datasets for ${model} with this plan in ${RUN_DIR}: run without --report-only first`);
  const record: FewShotRecord = {
    model, modelName: done[0]!.modelName, plan, command: opts.reportOnly ? done[0]!.command : command, host: done[0]!.host,
    finished: done.map((d) => d.finished).sort().at(-1)!, seconds: done.reduce((s, d) => s + d.result.seconds, 0), results: done.map((d) => d.result),
    missing: ['cifar10', 'cifar100'].filter((d) => !done.some((f) => f.result.dataset === d)), note: opts.note,
  };
  await writeFewShotReport(record, path.resolve(opts.report));
  console.log(`few-shot experiment: ${record.results.map((r) => `${r.dataset} ${r.fits.length} fits`).join(', ')} (${(record.seconds / 60).toFixed(1)} min of runs); report ${opts.report}`);
}

export const cli = (): Command => new Command('experiment:fewshot')
  .option('--model <dir>', 'model folder', 'models/default')
  .option('--shots <list>', 'shot counts per class', '1,2,4,8,16')
  .option('--draws <n>', 'draws of shots per shot count', integer('draws'), 3)
  .option('--limit <n>', 'test images per dataset (seeded sample)', integer('limit'), 2000)
  .option('--folds <n>', 'cross-validation folds (at most the shots)', integer('folds', 2), 3)
  .option('--datasets <list>', 'cifar10,cifar100', 'cifar10,cifar100')
  .option('--threads <n>', 'libtorch threads', integer('threads'), 1)
  .option('--report <file>', 'the report to write', 'docs/fewshot.md')
  .option('--report-only', 'rebuild the report from runs/fewshot/*.json (same model and plan)')
  .option('--note <text>', 'a remark printed in the report (e.g. why a dataset is missing)');
if (isEntryPoint(import.meta.url)) {
  const program = cli();
  program.parseAsync(process.argv).then(() => main(program.opts<Options>())).catch((err: Error) => {
    process.stderr.write(`experiment:fewshot: ${err.message}\n`);
    if (process.env.HYPERCLIP_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
