// Wanda vs magnitude pruning of a model folder, without retraining (issue 16):
//   npm run experiment:pruning                           # models/default, the full grid, then docs/pruning.md
//   npm run experiment:pruning -- --model runs/x/model   # another model
//   npm run experiment:pruning -- --report-only          # rebuild the report from the recorded results
//   npm run experiment:pruning -- --pretrained ../shared/data/pretrained/mobilenet_v2_1.0_224_quant.tflite
//                                                        # the pretrained mode (issue 29): an ImageNet MobileNet's
//                                                        # encoder alone, by its head's top-1 on imagenet-sample
// Grid: parts text, image, hypernet and all together x sparsity 0.3 ... 0.8,
// 2:4, 4:8 x wanda (3 calibration draws of 128 Flickr8k train samples) and
// magnitude (deterministic: one run), each scored on zero-shot CIFAR-10 and
// CIFAR-100 top-1 and Flickr8k R@1 with evaluation limits; then pruned
// classifiers: file size, onnxruntime latency, top-1. Every result is
// appended to <out>/results.jsonl as it comes, keyed by the model file's
// CRC-32, so a stopped run resumes and a new model starts afresh.
// The pretrained mode (pruning/pretrained.ts) prunes an imported network's
// image encoder instead, checked through its own ImageNet head; its records
// go to the same file, keyed by the network's checkpoint, and the report
// rebuilds both.
import { Command } from 'commander';
import { isEntryPoint } from '../tools/script-entry.js';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { defaultModelDir, loadBundle, type Bundle } from '../src/bundle/bundle.js';
import { parseSparsity } from '../src/compress/mask.js';
import { PRUNE_PARTS, pruneBundle, readCalibration, type CalibrationData, type PrunePart } from '../src/compress/prune-bundle.js';
import type { PruneMethod } from '../src/compress/prune-score.js';
import { integer } from '../src/cli/parse.js';
import { percent } from '../src/eval/format.js';
import { setNumThreads, type Tensor } from '../src/engine/index.js';
import { MODEL_FILES } from '../src/models/index.js';
import { host } from '../tools/host.js';
import { measureClassifiers } from './pruning/classifiers.js';
import { evaluate, loadEvalData } from './pruning/evaluation.js';
import { layerErrors } from './pruning/layers.js';
import type { GridRecord, ResultRecord, Scores } from './pruning/records.js';
import { DEFAULT_CALIBRATION_DATA, runPretrained } from './pruning/pretrained.js';
import { writePruningReport } from './pruning/report.js';

interface Options {
  layersOnly?: boolean; model: string; limit: number; draws: number; calibN: number; levels: string; parts: string; out: string; report: string; reportOnly?: boolean; classifiers: boolean;
  pretrained?: string; calibData?: string;
}

const say = (text: string): boolean => process.stderr.write(`${text}\n`);
export const DEFAULT_LEVELS = '0.3,0.5,0.6,0.7,0.8,2:4,4:8';
const GRID_PARTS = [...PRUNE_PARTS, 'all'] as const;

function readResults(file: string): ResultRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ResultRecord);
}

/** The pretrained mode's records: its points, and the host records of the networks they were measured on. */
function pretrainedRecords(all: ResultRecord[]): ResultRecord[] {
  const networks = new Set(all.filter((r) => r.kind === 'imagenet').map((r) => r.modelCrc));
  return all.filter((r) => r.kind === 'imagenet' || (r.kind === 'host' && networks.has(r.modelCrc)));
}

const sameGrid = (r: ResultRecord, g: Omit<GridRecord, keyof Scores | 'overall' | 'seconds' | 'kind'>): boolean =>
  r.kind === 'grid' && r.limit === g.limit && r.part === g.part && r.method === g.method && r.level === g.level && r.draw === g.draw && (r.method !== 'wanda' || r.calibN === g.calibN);

async function main(opts: Options): Promise<void> {
  setNumThreads(1);
  if (opts.calibData !== undefined && opts.pretrained === undefined) throw new Error('--calib-data applies to --pretrained (the grid calibrates on Flickr8k train image-caption pairs)');
  if (opts.pretrained !== undefined && opts.layersOnly) throw new Error('--layers-only checks the grid\'s model, not a --pretrained network');
  const modelDir = path.resolve(opts.model);
  const modelCrc = crc32(readFileSync(path.join(modelDir, MODEL_FILES.weights)));
  mkdirSync(opts.out, { recursive: true });
  const resultsFile = path.join(opts.out, 'results.jsonl');
  const all = readResults(resultsFile);
  const results = all.filter((r) => r.modelCrc === modelCrc);
  const record = (r: ResultRecord): void => {
    all.push(r);
    if (r.modelCrc === modelCrc) results.push(r);
    appendFileSync(resultsFile, JSON.stringify(r) + '\n');
  };
  // In the pretrained mode --limit, --draws, --calib-n and --levels are its own: the grid's section is rebuilt with the grid's defaults.
  const grid = opts.pretrained === undefined ? opts : cli().parse([], { from: 'user' }).opts<Options>();
  const argv = opts.pretrained === undefined ? process.argv.slice(2).filter((a) => a !== '--report-only' && a !== '--layers-only') : [];
  const report = async (): Promise<void> => writePruningReport({
    results, pretrained: pretrainedRecords(all), modelDir, limit: grid.limit, draws: grid.draws, calibN: grid.calibN, levels: grid.levels.split(','), file: opts.report, argv,
  });
  if (opts.reportOnly) return report();
  const command = ['npm run experiment:pruning --', ...process.argv.slice(2)].join(' ');
  if (opts.pretrained !== undefined) {
    await runPretrained({
      pretrained: opts.pretrained, out: opts.out, limit: opts.limit, draws: opts.draws, calibN: opts.calibN, calibData: opts.calibData ?? DEFAULT_CALIBRATION_DATA,
      levels: opts.levels.split(','), command,
    }, all, record, say, report);
    await report();
    say(`wrote ${opts.report}`);
    return;
  }

  record({ kind: 'host', modelCrc, at: new Date().toISOString(), command, threads: 1, ...host() });
  const bundle = loadBundle(modelDir);
  const dense = snapshot(bundle);
  const calibrations: CalibrationData[] = [];
  for (let d = 0; d < opts.draws; d++) calibrations.push(await readCalibration(bundle, 'flickr8k:train', opts.calibN, d));
  if (!results.some((r) => r.kind === 'layers' && r.calibN === opts.calibN)) {
    say('per-layer output error of the two criteria at 50%...');
    record({ kind: 'layers', modelCrc, calibN: opts.calibN, rows: layerErrors(bundle, calibrations[0]!) });
  }
  if (opts.layersOnly) return;
  const key = { modelCrc, limit: opts.limit, calibN: opts.calibN };
  say(`decoding the evaluation images (limit ${opts.limit} per set)...`);
  const data = await loadEvalData(bundle, opts.limit);
  const plan: { part: PrunePart | 'all' | 'none'; method: PruneMethod | 'dense'; level: string; draw: number }[] = [{ part: 'none', method: 'dense', level: '0', draw: 0 }];
  const parts = opts.parts.split(',') as (typeof GRID_PARTS[number])[];
  // The points the targets read come first (0.5 and 2:4, one draw of each), so a stopped run has them.
  const levels = opts.levels.split(',');
  const byPriority = [...levels.filter((l) => l === '0.5' || l === '2:4'), ...levels.filter((l) => l !== '0.5' && l !== '2:4')];
  for (let draw = 0; draw < opts.draws; draw++) for (const level of byPriority) for (const part of parts) {
    plan.push({ part, method: 'wanda', level, draw });
    if (draw === 0) plan.push({ part, method: 'magnitude', level, draw: 0 });
  }
  if (opts.classifiers && !results.some((r) => r.kind === 'classifier' && r.limit === opts.limit)) {
    say('pruned classifiers: size, latency, accuracy...');
    for (const row of await measureClassifiers(bundle, data.cifar10, levels, say)) record({ kind: 'classifier', modelCrc, limit: opts.limit, ...row });
    await report();
  }
  const todo = plan.filter((p) => !results.some((r) => sameGrid(r, { ...key, ...p })));
  say(`${plan.length} grid points, ${plan.length - todo.length} already recorded, ${todo.length} to run`);
  for (const [i, p] of todo.entries()) {
    const started = performance.now();
    bundle.model.loadStateDict(dense);
    let overall = 0;
    if (p.method !== 'dense') {
      const pruned = pruneBundle(bundle, {
        method: p.method, sparsity: parseSparsity(p.level), parts: p.part === 'all' ? bundle.model.hypernet === null ? ['text', 'image'] : [...PRUNE_PARTS] : [p.part as PrunePart],
        calibration: p.method === 'wanda' ? calibrations[p.draw]! : null,
      });
      overall = pruned.overall;
    }
    const scores = await evaluate(bundle, data);
    const seconds = (performance.now() - started) / 1000;
    record({ kind: 'grid', ...key, ...p, ...scores, overall, seconds });
    const pct = (x: number) => percent(x, { digits: 1, unit: true });
    say(`[${i + 1}/${todo.length}] ${p.part} ${p.method} ${p.level} draw ${p.draw}: CIFAR-10 ${pct(scores.cifar10)}, CIFAR-100 ${pct(scores.cifar100)}, ` +
      `R@1 i->t ${pct(scores.imageToText)} t->i ${pct(scores.textToImage)} (${seconds.toFixed(0)} s)`);
    if ((i + 1) % 4 === 0) await report();
  }
  await report();
  say(`wrote ${opts.report}`);
}

function snapshot(bundle: Bundle): Map<string, Tensor> {
  return new Map([...bundle.model.stateDict()].map(([name, t]) => [name, t.clone()]));
}

export const cli = (): Command => new Command('pruning')
  .option('--model <dir>', 'the model folder', defaultModelDir())
  .option('--limit <n>', 'images per evaluation set (CIFAR-10 test, CIFAR-100 test, Flickr8k test; with --pretrained: imagenet-sample, 1000 = all)', integer('limit'), 1000)
  .option('--draws <n>', 'calibration draws for wanda', integer('draws'), 3)
  .option('--calib-n <n>', 'calibration samples per draw (Flickr8k train image-caption pairs; with --pretrained: --calib-data images)', integer('calib-n'), 128)
  .option('--levels <list>', 'sparsity levels', DEFAULT_LEVELS)
  .option('--parts <list>', 'parts: text, image, hypernet, all', GRID_PARTS.join(','))
  .option('--no-classifiers', 'skip the pruned-classifier measurements')
  .option('--out <dir>', 'where results.jsonl goes', 'runs/pruning')
  .option('--report <file>', 'the report', 'docs/pruning.md')
  .option('--report-only', 'rebuild the report from results.jsonl')
  .option('--layers-only', 'only the per-layer check of the two criteria')
  .option('--pretrained <file-or-dir>', 'instead of the grid: prune this ImageNet network\'s image encoder (a .tflite of ../shared/data/pretrained, imported into <out>/pretrained/, or a folder made by `hyperclip import`) and score its ImageNet head on imagenet-sample')
  .option('--calib-data <data>', `with --pretrained: the unlabelled images wanda calibrates on, never imagenet-sample (default ${DEFAULT_CALIBRATION_DATA})`);
if (isEntryPoint(import.meta.url)) {
  main(cli().parse().opts<Options>()).catch((err: Error) => {
    process.stderr.write(`pruning experiment: ${err.message}\n`);
    if (process.env.HYPERCLIP_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
