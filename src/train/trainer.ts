// The training loop: a list of steps. Everything it needs comes from the
// library (models, data, eval); what it optimises is the recipe's objective
// (src/train/objectives/); what it writes lives in the run folder:
//   train-config.json   the resolved recipe
//   checkpoint.safetensors  the last checkpoint (atomic; --resume reads it)
//   metrics.jsonl       one JSON line per log, validation, resume and the summary
//   model/              the final model folder (bundle), ready for eval/generate
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { manualSeed, useAllCores, type Device } from '../engine/index.js';
import { createLoader, trainPreprocess, type DataLoader, type FeatureStoreStats } from '../data/index.js';
import { Tokenizer, loadWordPrior } from '../data/tokenizer/index.js';
import { HyperClip, initTokenEmbeddingFromPrior, resolveConfig, type ModelConfig } from '../models/index.js';
import { removeStaleTemporaries, writeFileAtomic } from '../engine/atomic-write.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { pretrainedFile } from '../models/import/pretrained-ref.js';
import { DiscardLog, joinGroup, rankDevice, rankFromEnvironment, type Parallelism } from './distributed.js';
import { finishedRun } from './finished-run.js';
import { loaderSources } from './data-sources.js';
import { initFromRun } from './init-from-run.js';
import { MetricsLog } from './metrics-log.js';
import { createObjective } from './objectives/create.js';
import type { TrainingObjective } from './objectives/objective.js';
import type { LoaderSource, PreprocessSpec } from '../data/index.js';
import type { TrainConfig } from './recipes.js';
import { silentReporter, type TrainReporter } from './reporter.js';
import { warmupCosine } from './schedule.js';
import { trainStep } from './train-step.js';
import type { ValidationResult } from './validate.js';

export interface TrainOptions {
  outDir: string;
  resume: boolean;
  reporter: TrainReporter;
  /** 'cpu' (default) or 'cuda'; a data-parallel rank uses cuda:LOCAL_RANK. */
  device?: Device;
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  imagesPerSecond: number;
  seconds: number;
  validation: ValidationResult | null;
  modelDir: string;
  skipped: string;
  /** True when --resume found the run already finished: nothing was trained, the figures are the run's own. */
  alreadyComplete: boolean;
  /** What the feature cache read, computed and wrote (src/train/prefix-cache.ts); null without one. */
  featureCache: FeatureStoreStats | null;
}

export class NonFiniteLossError extends Error {}

const CHECKPOINT = 'checkpoint.safetensors';

export async function train(config: TrainConfig, options: TrainOptions): Promise<TrainSummary> {
  const { outDir } = options;
  const device = rankDevice(options.device ?? 'cpu', rankFromEnvironment());
  const parallel = joinGroup(device); // single process unless launched with RANK/WORLD_SIZE
  const reporter = parallel.isMain ? options.reporter : silentReporter;
  useAllCores();
  const { model, sources, preprocess, objective, checkpointFile } = buildTrainParts(config, { outDir, resume: options.resume, device, parallel, reporter });
  try {
    return await trainObjective(config, objective, { model, sources, preprocess, parallel, reporter, options, checkpointFile });
  } finally {
    objective.close?.();
  }
}

/** What a training step needs, built from a recipe: the trainer's and bench:train's one way to build it. */
export interface TrainParts {
  tokenizer: Tokenizer;
  model: HyperClip;
  /** The training mixture, before sharding over ranks. */
  sources: LoaderSource[];
  preprocess: PreprocessSpec;
  objective: TrainingObjective;
  /** Where the run's checkpoint is (or will be) in outDir. */
  checkpointFile: string;
}

export interface TrainPartsOptions {
  /** The run folder the objective names its output and checkpoint in; building the parts writes nothing there. */
  outDir: string;
  /** The run will resume a checkpoint in outDir if it holds one. */
  resume: boolean;
  device: Device;
  parallel: Parallelism;
  reporter: TrainReporter;
}

/** Touches no run folder, so a bad recipe leaves nothing behind; seeds first, so the initial weights are the recipe's wherever it is built. */
export function buildTrainParts(config: TrainConfig, options: TrainPartsOptions): TrainParts {
  const { outDir, device, parallel, reporter } = options;
  manualSeed(config.seed);
  const tokenizer = Tokenizer.load(config.tokenizer);
  const model = buildModel(config, tokenizer, reporter);
  const checkpointFile = path.join(outDir, CHECKPOINT);
  // Before the run folder, so a missing first stage leaves nothing behind; a resumed checkpoint already holds these parts.
  // A pretrained file is read again on resume all the same: a distillation teacher checks that it shares the model's
  // frozen prefix before the checkpoint is loaded, and the file (unlike a first-stage run) is always there.
  const resuming = options.resume && existsSync(checkpointFile);
  if (config.init && (!resuming || pretrainedFile(config.init.from) !== null)) reporter.message(`init: ${initFromRun(model, config.init)} tensors of ${config.init.parts.join(', ')} from ${config.init.from}`);
  if (device !== 'cpu') model.to(device);
  const sources = loaderSources(config.data);
  const preprocess = trainPreprocess(model.config.image.imageSize, { scale: config.cropScale });
  const objective = createObjective(config, { model, tokenizer, sources, parallel, device, reporter, outDir, checkpointFile, preprocess });
  return { tokenizer, model, sources, preprocess, objective, checkpointFile };
}

interface RunSetup {
  model: HyperClip;
  sources: LoaderSource[];
  preprocess: PreprocessSpec;
  parallel: Parallelism;
  reporter: TrainReporter;
  options: TrainOptions;
  checkpointFile: string;
}

/** The run folder, the loader, the steps and the end of the run, for an objective already built. */
async function trainObjective(config: TrainConfig, objective: TrainingObjective, setup: RunSetup): Promise<TrainSummary> {
  const { model, sources, preprocess, parallel, reporter, options, checkpointFile } = setup;
  const { outDir } = options;
  const device = model.logitScale.device;
  if (parallel.isMain) prepareRunFolder(outDir, config, options.resume);
  const finished = options.resume ? finishedRun(outDir) : null;
  if (finished) return { ...finished, modelDir: objective.output, validation: null, alreadyComplete: true, featureCache: null };
  const resumed = options.resume && existsSync(checkpointFile) ? loadCheckpoint(checkpointFile, objective.trained, objective.optimizer) : null;
  if (options.resume && resumed === null) reporter.message(`no checkpoint in ${outDir} yet: starting from step 0`);
  // The objective's own random draws (the distillation's tasks) go on where the checkpoint left them.
  if (resumed !== null) objective.resumeFrom?.(resumed.extra);
  parallel.syncWeights(model);
  const log = parallel.isMain ? new MetricsLog(path.join(outDir, 'metrics.jsonl')) : new DiscardLog('');
  // The steps logged after the checkpoint are trained again; this line lets readers drop their first records (metrics-log.ts).
  if (resumed !== null) log.write({ event: 'resume', step: resumed.step });
  if (resumed === null) await warmStart(objective, log, config, model.logitScale.device);
  const loader = createLoader({
    sources: parallel.shardSources(sources), seed: parallel.dataSeed(config.seed), shuffle: true, dropLast: true,
    batchSize: parallel.localBatchSize(config.batchSize, model.config.hypernet?.groupSize ?? 1),
    preprocess, state: parallel.restore(resumed?.dataState) as never, ...(objective.fixedViews === undefined ? {} : { views: objective.fixedViews }),
  });
  try {
    const run = await runSteps({ config, model, objective, loader, log, reporter, startStep: resumed?.step ?? 0, checkpointFile, parallel });
    objective.close?.(); // before the summary: the feature cache's last chunk is written and counted
    reporter.stop();
    parallel.close(); // the last collective was the final checkpoint's
    if (device !== 'cpu') objective.trained.to('cpu'); // evaluation and the saved model run on the CPU
    return await finish(objective, run, { config, log, loader, isMain: parallel.isMain });
  } finally {
    reporter.stop();
    objective.close?.();
    parallel.close();
    await loader.close();
  }
}

/** The last validation, the objective's output and the run's one summary. */
async function finish(
  objective: TrainingObjective, run: RunFigures, ctx: { config: TrainConfig; log: MetricsLog; loader: DataLoader; isMain: boolean },
): Promise<TrainSummary> {
  const validation = ctx.isMain ? await objective.validate('end') : null;
  if (validation) ctx.log.write({ event: 'validation', step: ctx.config.steps, ...validation.fields });
  if (ctx.isMain) objective.save(validation?.result ?? null);
  const featureCache = objective.featureCacheStats?.() ?? null;
  const summary: TrainSummary = { ...run, validation: validation?.result ?? null, modelDir: objective.output, skipped: ctx.loader.skips.summary(), alreadyComplete: false, featureCache };
  ctx.log.write({
    event: 'summary', steps: summary.steps, finalLoss: summary.finalLoss, imagesPerSecond: summary.imagesPerSecond, seconds: summary.seconds, skipped: summary.skipped,
    ...(featureCache === null ? {} : { featureCache: Object.fromEntries(Object.entries(featureCache)) }),
  });
  return summary;
}

function prepareRunFolder(outDir: string, config: TrainConfig, resume: boolean): void {
  mkdirSync(outDir, { recursive: true });
  // A run killed mid-write (its config, checkpoint or model files) leaves temporaries behind.
  removeStaleTemporaries(outDir);
  if (existsSync(path.join(outDir, 'model'))) removeStaleTemporaries(path.join(outDir, 'model'));
  const file = path.join(outDir, 'train-config.json');
  const json = JSON.stringify(config, null, 2) + '\n';
  if (existsSync(file)) {
    if (!resume) throw new Error(`${outDir} already holds a run: pass --resume to continue it, or choose another --out`);
    if (readFileSync(file, 'utf8') !== json) throw new Error(`${outDir} was started with a different config: resume with the same options, or choose another --out`);
    return;
  }
  writeFileAtomic(file, [json]);
}

function buildModel(config: TrainConfig, tokenizer: Tokenizer, reporter: TrainReporter): HyperClip {
  const model = new HyperClip(modelConfigFor(config, tokenizer));
  if (config.wordPrior) {
    const prior = loadWordPrior(tokenizer);
    const set = initTokenEmbeddingFromPrior(model.textEncoder, { vectors: prior.vectors, found: prior.found, dim: prior.dimensions });
    reporter.message(`word prior: initialised ${set} token embeddings`);
  }
  return model.train();
}

interface StepContext {
  config: TrainConfig;
  model: HyperClip;
  objective: TrainingObjective;
  loader: DataLoader;
  log: MetricsLog;
  reporter: TrainReporter;
  startStep: number;
  checkpointFile: string;
  parallel: Parallelism;
}

/** What the steps measured: the summary's figures. */
type RunFigures = Pick<TrainSummary, 'steps' | 'finalLoss' | 'imagesPerSecond' | 'seconds'>;

async function runSteps(ctx: StepContext): Promise<RunFigures> {
  const { config, objective, loader, log, reporter } = ctx;
  const { optimizer } = objective;
  const batches = loader[Symbol.asyncIterator]();
  const started = Date.now();
  let windowStart = Date.now(), windowImages = 0, lossSum = 0, lossCount = 0, finalLoss = NaN, images = 0;
  reporter.start(config.steps, ctx.startStep);
  for (let step = ctx.startStep; step < config.steps; step++) {
    const next = await batches.next();
    if (next.done) throw new Error(`the training data ran out at step ${step} (${loader.skips.summary()})`);
    optimizer.lr = warmupCosine(step, { lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps, minLrRatio: config.minLrRatio });
    const { loss, gradNorm } = trainStep(objective, optimizer, config.gradClip, next.value);
    if (!Number.isFinite(loss)) {
      throw new NonFiniteLossError(`loss is ${loss} at step ${step}: stopped; the last good checkpoint is ${ctx.checkpointFile} (lower --lr or check the data)`);
    }
    finalLoss = loss;
    const globalBatch = next.value.size * ctx.parallel.worldSize;
    lossSum += loss; lossCount++; windowImages += globalBatch; images += globalBatch;
    const rate = (windowImages * 1000) / Math.max(1, Date.now() - windowStart);
    reporter.step(step + 1, { loss, lr: optimizer.lr, imagesPerSecond: rate });
    if ((step + 1) % config.logEvery === 0) {
      log.write({ event: 'train', step: step + 1, loss: lossSum / lossCount, lr: optimizer.lr, gradNorm, imagesPerSecond: rate, ...objective.logFields() });
      lossSum = 0; lossCount = 0; windowStart = Date.now(); windowImages = 0;
    }
    if ((step + 1) % config.checkpointEvery === 0 || step + 1 === config.steps) {
      const dataState = ctx.parallel.checkpointState(loader.state());
      if (ctx.parallel.isMain) saveCheckpoint(ctx.checkpointFile, objective.trained, optimizer, { step: step + 1, dataState, extra: { recipe: config.name, ...objective.checkpointExtra?.() } });
    }
    if (ctx.parallel.isMain && config.validateEvery > 0 && (step + 1) % config.validateEvery === 0 && step + 1 < config.steps) {
      await validateDuringRun(objective, ctx.model.logitScale.device, log, step + 1);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  return { steps: config.steps, finalLoss, imagesPerSecond: images / Math.max(seconds, 1e-9), seconds };
}

/**
 * What the objective learns before the loop (a fresh run only: a checkpoint
 * already holds it), logged, then validated as step 0 when the run validates.
 * A run killed before its first checkpoint repeats it.
 */
async function warmStart(objective: TrainingObjective, log: MetricsLog, config: TrainConfig, device: Device): Promise<void> {
  const fields = await objective.warmStart?.() ?? null;
  if (fields === null) return;
  log.write({ event: 'warm-start', ...fields });
  if (config.validateEvery > 0) await validateDuringRun(objective, device, log, 0);
}

/** Evaluation runs on the CPU in eval mode; training goes on where it was, in train mode. */
async function validateDuringRun(objective: TrainingObjective, device: Device, log: MetricsLog, step: number): Promise<void> {
  const { trained } = objective;
  if (device !== 'cpu') trained.to('cpu');
  const validation = await objective.validate('during');
  if (validation) log.write({ event: 'validation', step, ...validation.fields });
  trained.train();
  if (device !== 'cpu') trained.to(device);
}

/** The recipe's model preset with its overrides; the tokenizer defines the text vocabulary, context length and end token. */
export function modelConfigFor(config: TrainConfig, tokenizer: Tokenizer): ModelConfig {
  const overrides = config.modelOverrides ?? {};
  return resolveConfig({
    ...overrides, preset: config.model,
    text: { ...overrides.text, vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken },
  });
}
