// The training loop: a list of steps. Everything it needs comes from the
// library (models, data, eval); what it writes lives in the run folder:
//   train-config.json   the resolved recipe
//   checkpoint.safetensors  the last checkpoint (atomic; --resume reads it)
//   metrics.jsonl       one JSON line per log, validation and the summary
//   model/              the final model folder (bundle), ready for eval/generate
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  clipGradNorm, manualSeed, tensor, tidy, useAllCores, type AdamW, type Device, type Module,
} from '../engine/index.js';
import { createLoader, trainPreprocess, evalPreprocess, type Batch, type DataLoader } from '../data/index.js';
import { Tokenizer, loadWordPrior } from '../data/tokenizer/index.js';
import { HyperClip, initTokenEmbeddingFromPrior, resolveConfig, samePositives, type ModelConfig } from '../models/index.js';
import { saveBundle, type Bundle } from '../bundle/bundle.js';
import { tokenize } from '../eval/text-features.js';
import { removeStaleTemporaries, writeFileAtomic } from '../engine/atomic-write.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { DiscardLog, joinGroup, rankDevice, rankFromEnvironment, type Parallelism } from './distributed.js';
import { silentReporter, type TrainReporter } from './reporter.js';
import { dataParallelStep, onDevice } from './distributed-step.js';
import { finishedRun } from './finished-run.js';
import { loaderSources } from './data-sources.js';
import { initFromRun } from './init-from-run.js';
import { pretrainedFile } from '../models/import/pretrained-ref.js';
import { LabelClassifier } from '../models/label-classifier.js';
import type { HeadDistillation } from './distill.js';
import { createDistillation } from './distill-setup.js';
import { computePrefix, frozenPrefixBlocks } from './frozen-prefix.js';
import { MetricsLog } from './metrics-log.js';
import { createOptimizer } from './optimizer.js';
import type { TrainConfig } from './recipes.js';
import { warmupCosine } from './schedule.js';
import { validate, validateLabelClassifier, type ValidationResult } from './validate.js';

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
}

export class NonFiniteLossError extends Error {}

const CHECKPOINT = 'checkpoint.safetensors';

export async function train(config: TrainConfig, options: TrainOptions): Promise<TrainSummary> {
  const { outDir } = options;
  const device = rankDevice(options.device ?? 'cpu', rankFromEnvironment());
  const parallel = joinGroup(device); // single process unless launched with RANK/WORLD_SIZE
  const reporter = parallel.isMain ? options.reporter : silentReporter;
  useAllCores();
  manualSeed(config.seed);
  const tokenizer = Tokenizer.load(config.tokenizer);
  const model = buildModel(config, tokenizer, reporter);
  // Before the run folder, so a missing first stage leaves nothing behind; a resumed checkpoint already holds these parts.
  const resuming = options.resume && existsSync(path.join(outDir, CHECKPOINT));
  if (config.init && !resuming) reporter.message(`init: ${initFromRun(model, config.init)} tensors of ${config.init.parts.join(', ')} from ${config.init.from}`);
  if (device !== 'cpu') model.to(device);
  const sources = loaderSources(config.data);
  const classifier = config.objective === 'classify' ? new LabelClassifier(model.imageEncoder, classifyClasses(sources)).train() : null;
  if (parallel.group !== null && (classifier !== null || config.positives === 'same-label')) {
    throw new Error('the classify objective and same-label positives train in one process for now: drop --nproc-per-node for this recipe');
  }
  if (classifier !== null && device !== 'cpu') classifier.to(device);
  const trained: Module = classifier ?? model;
  const optimizer = createOptimizer(trained, config); // before the run folder: a bad freeze list leaves nothing behind
  const prefixBlocks = classifier === null ? frozenPrefixBlocks(model) : null;
  if (prefixBlocks !== null && prefixBlocks > 0) reporter.message(`frozen prefix: the stem and ${prefixBlocks} blocks run once per batch without gradients`);
  const distill = config.distill === undefined ? null : createDistillation(config.distill, model, prefixBlocks, tokenizer, config.seed);
  if (distill !== null && (parallel.group !== null || device !== 'cpu')) {
    throw new Error('distillation trains in one process on the CPU for now: drop --nproc-per-node and --device for this recipe');
  }
  if (parallel.isMain) prepareRunFolder(outDir, config, options.resume);
  const checkpointFile = path.join(outDir, CHECKPOINT);
  const finished = options.resume ? finishedRun(outDir) : null;
  if (finished) return { ...finished, modelDir: classifier ? checkpointFile : finished.modelDir, validation: null, alreadyComplete: true };
  const resumed = options.resume && existsSync(checkpointFile) ? loadCheckpoint(checkpointFile, trained, optimizer) : null;
  if (options.resume && resumed === null) reporter.message(`no checkpoint in ${outDir} yet: starting from step 0`);
  parallel.syncWeights(model);
  const startStep = resumed?.step ?? 0;
  const log = parallel.isMain ? new MetricsLog(path.join(outDir, 'metrics.jsonl')) : new DiscardLog('');
  const loader = createLoader({
    sources: parallel.shardSources(sources), seed: parallel.dataSeed(config.seed), shuffle: true, dropLast: true,
    batchSize: parallel.localBatchSize(config.batchSize, model.config.hypernet?.groupSize ?? 1),
    preprocess: trainPreprocess(model.config.image.imageSize, { scale: config.cropScale }), state: parallel.restore(resumed?.dataState) as never,
  });
  const bundle: Bundle = { dir: outDir, model, config: model.config, tokenizer, preprocess: evalPreprocess(model.config.image.imageSize), extra: {} };
  try {
    const run = await runSteps({ config, model, classifier, optimizer, loader, tokenizer, log, reporter, startStep, checkpointFile, bundle, parallel, prefixBlocks, distill });
    reporter.stop();
    parallel.close(); // the last collective was the final checkpoint's
    if (device !== 'cpu') trained.to('cpu'); // evaluation and the saved model run on the CPU
    if (classifier !== null) return await finishClassifier(classifier, run, { config, imageSize: model.config.image.imageSize, log, reporter, loader, checkpointFile });
    const validation = parallel.isMain && (config.validation.cifar10Limit > 0 || config.validation.retrievalLimit > 0 || (config.validation.heldOutLimit ?? 0) > 0)
      ? await validate(bundle, config, reporter) : null;
    if (validation) log.write({ event: 'validation', step: config.steps, ...flatten(validation) });
    const modelDir = path.join(outDir, 'model');
    if (parallel.isMain) saveBundle(modelDir, model, tokenizer, { recipe: config.name, steps: config.steps, seed: config.seed, validation }, { pretrained: lockedPretrainedPart(config) });
    const summary = { ...run, validation, modelDir, skipped: loader.skips.summary(), alreadyComplete: false };
    log.write({ event: 'summary', steps: summary.steps, finalLoss: summary.finalLoss, imagesPerSecond: summary.imagesPerSecond, seconds: summary.seconds, skipped: summary.skipped });
    return summary;
  } finally {
    reporter.stop();
    parallel.close();
    await loader.close();
  }
}

/** A pretrained image encoder that stayed frozen is saved as a reference to its file, not as weights (src/models/import/pretrained-ref.ts). */
function lockedPretrainedPart(config: TrainConfig): { part: string; from: string } | undefined {
  const init = config.init;
  if (init === undefined || pretrainedFile(init.from) === null || !init.parts.includes('imageEncoder')) return undefined;
  return (config.freeze ?? []).includes('imageEncoder') ? { part: 'imageEncoder', from: init.from } : undefined;
}

/** The number of classes of the one labelled source that the classify objective learns. */
function classifyClasses(sources: ReturnType<typeof loaderSources>): number {
  const labelled = sources.filter((s) => s.caption.kind === 'label');
  if (labelled.length !== 1 || sources.length !== 1) {
    throw new Error('objective "classify" needs exactly one data source, a labelled one (e.g. tiny-imagenet:train)');
  }
  return (labelled[0]!.caption as { classnames: string[] }).classnames.length;
}

/** A classify stage ends with its checkpoint (what later stages init from) and Tiny ImageNet val accuracy, not a model folder. */
async function finishClassifier(
  classifier: LabelClassifier, run: Awaited<ReturnType<typeof runSteps>>,
  ctx: { config: TrainConfig; imageSize: number; log: MetricsLog; reporter: TrainReporter; loader: DataLoader; checkpointFile: string },
): Promise<TrainSummary> {
  const limit = ctx.config.validation.tinyImagenetLimit ?? 0;
  const seen = limit > 0 ? await validateLabelClassifier(classifier, ctx.imageSize, limit, ctx.reporter) : null;
  if (seen !== null) ctx.log.write({ event: 'validation', step: ctx.config.steps, tinyImagenetTop1: seen });
  const summary = { ...run, validation: null, modelDir: ctx.checkpointFile, skipped: ctx.loader.skips.summary(), alreadyComplete: false };
  ctx.log.write({ event: 'summary', steps: summary.steps, finalLoss: summary.finalLoss, imagesPerSecond: summary.imagesPerSecond, seconds: summary.seconds, skipped: summary.skipped });
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
  /** The classify objective's encoder and head; null for the contrastive loss. */
  classifier: LabelClassifier | null;
  optimizer: AdamW;
  loader: DataLoader;
  tokenizer: Tokenizer;
  log: MetricsLog;
  reporter: TrainReporter;
  startStep: number;
  checkpointFile: string;
  bundle: Bundle;
  parallel: Parallelism;
  /** Leading image-encoder blocks that are frozen: computed once per batch (src/train/frozen-prefix.ts); null: none. */
  prefixBlocks?: number | null;
  /** The pretrained head teaching the generated classifiers; null: none. */
  distill?: HeadDistillation | null;
}

async function runSteps(ctx: StepContext): Promise<{ steps: number; finalLoss: number; imagesPerSecond: number; seconds: number }> {
  const { config, model, optimizer, loader, log, reporter } = ctx;
  const batches = loader[Symbol.asyncIterator]();
  const started = Date.now();
  let windowStart = Date.now(), windowImages = 0, lossSum = 0, lossCount = 0, finalLoss = NaN, images = 0;
  reporter.start(config.steps, ctx.startStep);
  for (let step = ctx.startStep; step < config.steps; step++) {
    const next = await batches.next();
    if (next.done) throw new Error(`the training data ran out at step ${step} (${loader.skips.summary()})`);
    optimizer.lr = warmupCosine(step, { lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps, minLrRatio: config.minLrRatio });
    const { loss, gradNorm } = ctx.parallel.group === null ? trainStep(ctx, next.value)
      : dataParallelStep({ ...ctx, gradClip: config.gradClip, group: ctx.parallel.group }, next.value);
    if (!Number.isFinite(loss)) {
      throw new NonFiniteLossError(`loss is ${loss} at step ${step}: stopped; the last good checkpoint is ${ctx.checkpointFile} (lower --lr or check the data)`);
    }
    finalLoss = loss;
    const globalBatch = next.value.size * ctx.parallel.worldSize;
    lossSum += loss; lossCount++; windowImages += globalBatch; images += globalBatch;
    const rate = (windowImages * 1000) / Math.max(1, Date.now() - windowStart);
    reporter.step(step + 1, { loss, lr: optimizer.lr, imagesPerSecond: rate });
    if ((step + 1) % config.logEvery === 0) {
      log.write({ event: 'train', step: step + 1, loss: lossSum / lossCount, lr: optimizer.lr, gradNorm, imagesPerSecond: rate,
        ...(ctx.classifier === null ? { logitScale: Math.exp(model.logitScale.item()), logitBias: model.logitBias.item() } : {}) });
      lossSum = 0; lossCount = 0; windowStart = Date.now(); windowImages = 0;
    }
    if ((step + 1) % config.checkpointEvery === 0 || step + 1 === config.steps) {
      const dataState = ctx.parallel.checkpointState(loader.state());
      if (ctx.parallel.isMain) saveCheckpoint(ctx.checkpointFile, ctx.classifier ?? model, optimizer, { step: step + 1, dataState, extra: { recipe: config.name } });
    }
    if (ctx.parallel.isMain && config.validateEvery > 0 && (step + 1) % config.validateEvery === 0 && step + 1 < config.steps) {
      const trained: Module = ctx.classifier ?? model;
      const device = model.logitScale.device;
      if (device !== 'cpu') trained.to('cpu'); // evaluation runs on the CPU
      if (ctx.classifier !== null) {
        const limit = config.validation.tinyImagenetLimit ?? 0;
        if (limit > 0) {
          const top1 = await validateLabelClassifier(ctx.classifier, model.config.image.imageSize, limit, reporter);
          log.write({ event: 'validation', step: step + 1, tinyImagenetTop1: top1 });
        }
      } else {
        const result = await validate(ctx.bundle, config, reporter);
        log.write({ event: 'validation', step: step + 1, ...flatten(result) });
      }
      trained.train();
      if (device !== 'cpu') trained.to(device);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  return { steps: config.steps, finalLoss, imagesPerSecond: images / Math.max(seconds, 1e-9), seconds };
}

/** The recipe's model preset with its overrides; the tokenizer defines the text vocabulary, context length and end token. */
export function modelConfigFor(config: TrainConfig, tokenizer: Tokenizer): ModelConfig {
  const overrides = config.modelOverrides ?? {};
  return resolveConfig({
    ...overrides, preset: config.model,
    text: { ...overrides.text, vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken },
  });
}

/** One optimisation step on a batch: forward, backward, clip, update (also used by bench:train). */
export function trainStep(
  ctx: Pick<StepContext, 'model' | 'optimizer' | 'tokenizer' | 'config' | 'prefixBlocks' | 'distill'> & { classifier?: LabelClassifier | null }, batch: Batch,
): { loss: number; gradNorm: number } {
  const { model, optimizer, tokenizer, config } = ctx;
  const loss = tidy(() => {
    const images = onDevice(tensor(batch.images, [batch.size, 3, batch.height, batch.width]), model); // [B, 3, H, W]
    let value;
    if (ctx.classifier) {
      if (batch.labels === null) throw new Error('objective "classify" got a batch without labels');
      value = ctx.classifier.loss(images, batch.labels);
    } else {
      const ids = onDevice(tokenize(tokenizer, batch.captions), model); // [B, T]
      const positives = config.positives === 'same-label' && batch.labels !== null ? samePositives(batch.labels, batch.sources, images.device) : null;
      const input = ctx.prefixBlocks == null ? images : computePrefix(model, images, ctx.prefixBlocks);
      value = model.trainingLoss(input, ids, undefined, positives);
      if (ctx.distill) {
        if ('block' in input) value = value.add(ctx.distill.loss(model, input).mul(ctx.distill.config.weight));
        else throw new Error('distill: the image encoder has no frozen prefix to share with the teacher');
      }
    }
    value.backward();
    return value.item();
  });
  if (!Number.isFinite(loss)) {
    optimizer.zeroGrad();
    return { loss, gradNorm: NaN };
  }
  const gradNorm = clipGradNorm(optimizer.allParams(), config.gradClip);
  optimizer.step();
  optimizer.zeroGrad();
  return { loss, gradNorm };
}

function flatten(result: ValidationResult): Record<string, number> {
  const out: Record<string, number> = {};
  if (result.cifar10) { out.cifar10Top1 = result.cifar10.top1; out.cifar10Top5 = result.cifar10.top5; }
  if (result.tinyImagenet) { out.tinyImagenetTop1 = result.tinyImagenet.top1; out.tinyImagenetTop5 = result.tinyImagenet.top5; }
  if (result.heldOut) { out.heldOutTop1 = result.heldOut.top1; out.heldOutTop5 = result.heldOut.top5; }
  if (result.retrieval) {
    out.imageToTextR1 = result.retrieval.imageToText.r1; out.imageToTextR5 = result.retrieval.imageToText.r5;
    out.textToImageR1 = result.retrieval.textToImage.r1; out.textToImageR5 = result.retrieval.textToImage.r5;
  }
  return out;
}
