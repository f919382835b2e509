// Reading what the experiment left in its output folder: one folder per run
// (train-config.json, metrics.jsonl, checkpoint, model/, eval.json). Knows
// nothing of the engine, so the report can be rebuilt without libtorch.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MODEL_KINDS, runName, type Configuration, type ModelKind } from './plan.js';
import type { Machine } from '../../tools/host.js';
import { median } from '../../tools/stats.js';
import { resolveConfig, type PartialModelConfig } from '../../src/models/config.js';
import { MODEL_FILES } from '../../src/models/folder-layout.js';
import { lastLife, MetricsLog } from '../../src/train/metrics-log.js';
import { HOST_FILE } from '../lib/training-run.js';

export const EVAL_FILE = 'eval.json';

export interface ZeroShotScores { samples: number; top1: number; top5: number; templates?: number; skipped?: string }
export interface RetrievalScores {
  images: number;
  captions: number;
  imageToText: { r1: number; r5: number; r10: number };
  textToImage: { r1: number; r5: number; r10: number };
  skipped?: string;
}

/** What eval.json holds for one finished run. */
export interface EvalRecord {
  recipe: string;
  seed: number;
  /** null: the full test sets. */
  evalLimit: number | null;
  evaluatedAt: string;
  seconds: number;
  cifar10: ZeroShotScores;
  cifar100: ZeroShotScores;
  /** Tiny ImageNet val (evaluations since configuration D; absent in older records). */
  tinyImagenet?: ZeroShotScores;
  flickr8k: RetrievalScores;
}

export type RunStatus = 'missing' | 'started' | 'trained' | 'evaluated';

export interface RunState {
  configuration: string;
  model: ModelKind;
  recipe: string;
  seed: number;
  name: string;
  dir: string;
  status: RunStatus;
  /** Steps the recipe asked for, and the last step logged. */
  plannedSteps: number | null;
  loggedSteps: number;
  trainConfig: Record<string, unknown> | null;
  imageSize: number | null;
  curve: { step: number; loss: number }[];
  /** Median of the logged windows' img/s: robust to validation pauses and resumes. */
  imagesPerSecond: number;
  trainSeconds: number | null;
  /** The machine the run was trained on, as host.json records it. */
  host: Machine | null;
  eval: EvalRecord | null;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null; // a torn or hand-edited file counts as absent; the run is then redone or reported missing
  }
}

export function isEvalRecord(value: unknown): value is EvalRecord {
  const v = value as EvalRecord | null;
  return v !== null && typeof v === 'object' && typeof v.cifar10?.top1 === 'number' && typeof v.cifar100?.top1 === 'number'
    && typeof v.flickr8k?.imageToText?.r1 === 'number';
}

/** What a run folder holds, whatever experiment wrote it. */
export type RunFolder = Omit<RunState, 'configuration' | 'model' | 'recipe' | 'seed' | 'name'> & {
  /** The last validation record of the run's last life (its figures at the last validated step), or null. */
  lastValidation: Record<string, number> | null;
};

export function readRunFolder(dir: string): RunFolder {
  const trainConfig = readJson(path.join(dir, 'train-config.json')) as Record<string, unknown> | null;
  const modelConfig = readJson(path.join(dir, 'model', MODEL_FILES.config)) as { config?: { image?: { imageSize?: number } } } | null;
  const logged: Record<string, unknown>[] = new MetricsLog(path.join(dir, 'metrics.jsonl')).read();
  const records = lastLife(logged);
  const train = records.filter((r) => r.event === 'train' && typeof r.step === 'number' && typeof r.loss === 'number');
  const summaries = records.filter((r) => r.event === 'summary');
  const validation = records.filter((r) => r.event === 'validation' && typeof r.step === 'number').at(-1);
  const evalRecord = readJson(path.join(dir, EVAL_FILE));
  // The weights (model/) are not committed: in a fresh checkout a finished run is its summary record.
  const finished = existsSync(path.join(dir, 'model', MODEL_FILES.config)) || summaries.length > 0;
  const status: RunStatus = isEvalRecord(evalRecord) && finished ? 'evaluated' : finished ? 'trained' : existsSync(dir) ? 'started' : 'missing';
  const last = summaries.at(-1);
  return {
    dir, status,
    plannedSteps: typeof trainConfig?.steps === 'number' ? trainConfig.steps : null,
    loggedSteps: train.length > 0 ? (train.at(-1)!.step as number) : 0,
    trainConfig, imageSize: modelConfig?.config?.image?.imageSize ?? presetImageSize(trainConfig),
    curve: lossCurve(train),
    imagesPerSecond: median(train.map((r) => r.imagesPerSecond as number)),
    trainSeconds: !wasResumed(logged) && typeof last?.seconds === 'number' ? last.seconds : null,
    host: readJson(path.join(dir, HOST_FILE)) as Machine | null,
    eval: status === 'evaluated' ? (evalRecord as EvalRecord) : null,
    lastValidation: validation === undefined ? null
      : Object.fromEntries(Object.entries(validation).filter((e): e is [string, number] => typeof e[1] === 'number')),
  };
}

export function readRun(outDir: string, configuration: Configuration, model: ModelKind, seed: number): RunState {
  const recipe = configuration.recipes[model];
  const name = runName(recipe, seed);
  const { lastValidation: _unused, ...folder } = readRunFolder(path.join(outDir, name));
  return { configuration: configuration.id, model, recipe, seed, name, ...folder };
}

/** The image size of the recipe's model, for runs whose model folder is not here. */
function presetImageSize(trainConfig: Record<string, unknown> | null): number | null {
  if (typeof trainConfig?.model !== 'string') return null;
  try {
    const overrides = (trainConfig.modelOverrides ?? {}) as Omit<PartialModelConfig, 'preset'>;
    return resolveConfig({ ...overrides, preset: trainConfig.model }).image.imageSize;
  } catch {
    return null;
  }
}

/** Logs from before the resume record still hold a resumed run's steps past its checkpoint twice: the later record wins. */
function lossCurve(train: Record<string, unknown>[]): { step: number; loss: number }[] {
  const byStep = new Map<number, number>();
  for (const r of train) byStep.set(r.step as number, r.loss as number);
  return [...byStep].sort((a, b) => a[0] - b[0]).map(([step, loss]) => ({ step, loss }));
}

/**
 * A resumed run's summary times only its last segment, so its wall time is not the run's.
 * Read from the whole log: older logs without a resume record show it only as a train step logged twice.
 */
function wasResumed(logged: Record<string, unknown>[]): boolean {
  if (logged.some((r) => r.event === 'resume')) return true;
  const train = logged.filter((r) => r.event === 'train' && typeof r.step === 'number' && typeof r.loss === 'number');
  return train.some((r, i) => i > 0 && (r.step as number) <= (train[i - 1]!.step as number));
}

export function readRuns(outDir: string, configurations: Configuration[], seeds: number[]): RunState[] {
  return configurations.flatMap((c) => MODEL_KINDS.flatMap((m) => seeds.map((s) => readRun(outDir, c, m, s))));
}

/** The flat metric values of an evaluation, keyed as plan.ts METRICS. */
export function metricValues(e: EvalRecord): Record<string, number> {
  return {
    cifar10Top1: e.cifar10.top1, cifar10Top5: e.cifar10.top5, cifar100Top1: e.cifar100.top1, cifar100Top5: e.cifar100.top5,
    imageToTextR1: e.flickr8k.imageToText.r1, imageToTextR5: e.flickr8k.imageToText.r5, imageToTextR10: e.flickr8k.imageToText.r10,
    textToImageR1: e.flickr8k.textToImage.r1, textToImageR5: e.flickr8k.textToImage.r5, textToImageR10: e.flickr8k.textToImage.r10,
  };
}
