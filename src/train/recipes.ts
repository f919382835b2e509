// Training recipes: configs as code (as big_vision's). Each names its model
// preset, data mixture and budget. The command and the measured result of
// each recipe are in docs/results.md once a run has produced them.
//
//   hyperclip train --preset tiny-hyperclip --out runs/tiny-hyperclip-s0 --seed 0
//   hyperclip train --preset tiny-siglip    --out runs/tiny-siglip-s0    --seed 0
import { existsSync, readFileSync } from 'node:fs';
import { resolveConfig, type PartialModelConfig } from '../models/config.js';
import { checkLabelSenses, type LabelNaming, type LabelSenses } from '../data/index.js';
import type { DistillConfig } from './distill.js';
import type { HeadWarmStartConfig } from './head-warm-start.js';
import type { FeatureCacheConfig } from './prefix-cache.js';

export interface DataSourceConfig {
  /** A named split ("flickr8k:train", "cifar100:train"), shard paths/patterns, a folder of class folders, or a CSV/TSV of image paths and captions. */
  dataset: string;
  weight: number;
  /** For labelled datasets: how class indices become captions (default: a named dataset's CLIP set, else "a photo of a {}."). */
  templates?: 'clip' | 'simple';
  /** For labelled datasets: the class name, any synonym, or synonyms plus WordNet hypernym phrases. */
  naming?: LabelNaming;
  /**
   * With naming "wordnet": the WordNet sense of each class's hypernym phrases,
   * from its names ("by-name", the default, as every committed run) or its
   * WordNet id ("by-wnid": Tiny ImageNet's wnids.json; 25 of its 202 classes
   * get another sense, e.g. crane the machine instead of Stephen Crane).
   */
  senses?: LabelSenses;
  /** Tiny ImageNet only: leave out the held-out classes (src/data/held-out.ts), whose names validation tests. */
  withoutHeldOut?: boolean;
  /** Class names: the .cls order of labelled shards, or the label order of class folders (default: the folder names). */
  classnames?: string[];
  /** A CSV's columns and separator, as OpenCLIP's --csv-img-key, --csv-caption-key, --csv-separator. */
  csvImgKey?: string;
  csvCaptionKey?: string;
  csvSeparator?: string;
}

/** Start some parts of the model from another run's last checkpoint (e.g. a supervised image encoder). */
export interface InitFrom {
  /** A run folder holding checkpoint.safetensors. */
  from: string;
  /** Parameter-name prefixes to copy, e.g. ["imageEncoder"]. */
  parts: string[];
}

export interface TrainConfig {
  name: string;
  /** A model preset name (src/models/config.ts). */
  model: string;
  /** Changes to that preset (e.g. `{ "loss": { "kind": "clip" } }`); the tokenizer still sets the text vocabulary. */
  modelOverrides?: Omit<PartialModelConfig, 'preset'>;
  tokenizer: string;
  /** Initialise whole-word token embeddings from the GloVe-derived word prior. */
  wordPrior: boolean;
  /** Parameter-name prefixes that do not train (e.g. "textEncoder.tokenEmbedding" keeps the word prior as initialised). */
  freeze?: string[];
  /**
   * 'contrastive' (default): the model's image-text loss. 'classify': the
   * image encoder and a linear head learn the labels of the one labelled
   * source with cross-entropy, as a first stage whose image encoder a
   * contrastive recipe then starts from (init).
   */
  objective?: 'contrastive' | 'classify';
  /** 'same-label': captions of one class (same label, same source) are matches, not negatives. Default: only the diagonal. */
  positives?: 'diagonal' | 'same-label';
  init?: InitFrom;
  /** Learning-rate multipliers by parameter-name prefix (0.1 tunes a pre-trained part slowly). */
  lrScale?: Record<string, number>;
  /** A pretrained 1000-class head as a teacher of the generated classifiers (src/train/distill.ts), beside the contrastive loss. */
  distill?: DistillConfig;
  /**
   * Opt-in: store the frozen prefix's features per image and view on disk
   * (src/train/prefix-cache.ts), so that this run's later draws and later runs
   * on the same tower, resolution and augmentation read them instead of
   * decoding and computing them. It CHANGES THE AUGMENTATION: each image gets
   * `views` fixed crops and flips, one drawn per sample from the run's seed,
   * instead of a fresh one at every draw; features pass through float16.
   */
  featureCache?: FeatureCacheConfig;
  data: DataSourceConfig[];
  batchSize: number;
  steps: number;
  lr: number;
  warmupSteps: number;
  minLrRatio: number;
  weightDecay: number;
  gradClip: number;
  /** Random-resized-crop area range. */
  cropScale: [number, number];
  seed: number;
  checkpointEvery: number;
  validateEvery: number;
  logEvery: number;
  /**
   * What validation reads, none of it a test set: CIFAR-10 train images
   * (never trained on), Flickr8k val, and optionally Tiny ImageNet val (seen classes),
   * its held-out names, and its trainable classes in WordNet groups
   * (src/eval/tin-groups.ts). Each a number of images; 0 or absent: off.
   */
  validation: { cifar10Limit: number; retrievalLimit: number; tinyImagenetLimit?: number; heldOutLimit?: number; groupsLimit?: number };
  /**
   * Data-parallel runs: all-reduce gradient buckets while backward still runs
   * (src/train/overlapped-reducer.ts) instead of after it. The same gradients
   * either way; absent: after backward.
   */
  overlapAllReduce?: boolean;
}

const TINY: Omit<TrainConfig, 'name' | 'model'> = {
  tokenizer: 'flickr8k-4k',
  wordPrior: true,
  data: [{ dataset: 'flickr8k:train', weight: 1 }],
  batchSize: 128,
  steps: 2000,
  lr: 2e-3,
  warmupSteps: 100,
  minLrRatio: 0.02,
  weightDecay: 0.1,
  gradClip: 1.0,
  cropScale: [0.5, 1],
  seed: 0,
  checkpointEvery: 100,
  validateEvery: 500,
  logEvery: 10,
  validation: { cifar10Limit: 1000, retrievalLimit: 1000 },
};

/** Keeps the word prior's token embeddings as initialised (docs/recipe-probes.md, session 4). */
const FROZEN_WORDS = ['textEncoder.tokenEmbedding'];

/** Adds CIFAR-100 train images with templated captions: CIFAR-100 is then no longer zero-shot. */
const WITH_CIFAR100: DataSourceConfig[] = [
  { dataset: 'flickr8k:train', weight: 1 },
  { dataset: 'cifar100:train', weight: 1, templates: 'clip' },
];

/**
 * Configuration D, stage 1: the tiny image encoder learns Tiny ImageNet's 202
 * labels with cross-entropy, far more per sample than a contrastive loss
 * with a text tower from scratch (issue 21's probe: 7.2% vs 1.5% val top-1).
 */
const TIN_CLASSIFY: TrainConfig = {
  ...TINY, name: 'tiny-tin-classify', model: 'tiny-siglip', objective: 'classify', wordPrior: false,
  data: [{ dataset: 'tiny-imagenet:train', weight: 1 }],
  lr: 2e-3, weightDecay: 0.05, cropScale: [0.35, 1], steps: 1500, validateEvery: 500,
  validation: { cifar10Limit: 0, retrievalLimit: 0, tinyImagenetLimit: 1000 },
};

/** Where D's second stage finds the first stage's checkpoint: the experiment's one stage-1 run, shared by every seed of D. */
export const TIN_CLASSIFY_RUN = 'runs/experiment/tiny-tin-classify-s0';

/**
 * Configuration D, stage 2: Flickr8k captions and Tiny ImageNet labels named
 * by synonyms and WordNet hypernym phrases ("tabby, a kind of cat"),
 * same-class captions as matches, the word prior frozen, the image encoder
 * from stage 1 tuned at a tenth of the learning rate.
 */
const STAGE_D: Omit<TrainConfig, 'name' | 'model'> = {
  ...TINY,
  data: [
    { dataset: 'flickr8k:train', weight: 1 },
    { dataset: 'tiny-imagenet:train', weight: 1, naming: 'wordnet' },
  ],
  positives: 'same-label',
  freeze: FROZEN_WORDS,
  init: { from: TIN_CLASSIFY_RUN, parts: ['imageEncoder'] },
  lrScale: { imageEncoder: 0.1 },
  steps: 800,
  validateEvery: 400,
  validation: { cifar10Limit: 1000, retrievalLimit: 1000, tinyImagenetLimit: 1000 },
};

/**
 * Locked-image tuning on an ImageNet-pretrained MobileNet (LiT; OpenCLIP's
 * pretrained towers): the image encoder is read from the data folder's TFLite
 * file and stays frozen (so its prefix runs once per batch without
 * gradients); the text encoder (word prior frozen), the projection and the
 * hypernetwork learn from two signals: SigLIP on Flickr8k captions and Tiny
 * ImageNet images named by WordNet (held-out classes left out, same-class
 * captions as matches), and the pretrained 1000-class head as a teacher of
 * classifiers generated from ImageNet's names (held-out synsets never drawn).
 * Validation reads no test set and no target task: Tiny ImageNet val, the
 * held-out names, Flickr8k val.
 */
const LIT_BASE: Omit<TrainConfig, 'name' | 'model'> = {
  ...TINY,
  tokenizer: 'wordnet-8k',
  data: [
    { dataset: 'flickr8k:train', weight: 1 },
    { dataset: 'tiny-imagenet:train', weight: 1, naming: 'wordnet', withoutHeldOut: true },
  ],
  positives: 'same-label',
  freeze: ['imageEncoder', ...FROZEN_WORDS],
  lr: 1e-3,
  weightDecay: 0.05,
  cropScale: [0.6, 1],
  // 350 steps of 128 (45k samples: about 25 minutes for v2 at 160 px on 2 cores, which trains at 29-35 img/s with the machine to itself).
  steps: 350,
  warmupSteps: 35,
  validateEvery: 175,
  validation: { cifar10Limit: 0, retrievalLimit: 1000, tinyImagenetLimit: 1000, heldOutLimit: 1000 },
};

const litRecipe = (name: string, model: string, network: string): TrainConfig => ({
  ...LIT_BASE, name, model,
  init: { from: `pretrained:${network}`, parts: ['imageEncoder'] },
  distill: { teacher: `pretrained:${network}`, weight: 1, classesPerTask: 128, temperature: 1 },
});

/**
 * The same, with the text side warm-started from the head before the first
 * step (distill.warmStart, src/train/head-warm-start.ts): 600 steps of 256
 * cached images, 128 ImageNet names a task. On MobileNet v2 at 160 px the
 * warm start alone reached 24.8% Tiny ImageNet val zero-shot, the plain
 * recipe's whole run 12.7% (docs/pretrained.md).
 */
const warmRecipe = (name: string, model: string, network: string): TrainConfig => {
  const recipe = litRecipe(name, model, network);
  return { ...recipe, distill: { ...recipe.distill!, warmStart: { steps: 600, images: 4000, batchSize: 256, lr: 1e-3 } } };
};

/**
 * The warm-started recipe with a longer warm start (1200 steps of 512 on
 * 8000 cached images: its loss was still falling at 600 of 256) and WordNet
 * nodes above ImageNet's classes in 30% of the distillation tasks, so that
 * generic names ("dog", "vehicle") learn the teacher's mass under them
 * (src/train/distill-nodes.ts).
 */
const warmNodesRecipe = (name: string, model: string, network: string): TrainConfig => {
  const recipe = litRecipe(name, model, network);
  return { ...recipe, distill: { ...recipe.distill!, nodeTasks: 0.3, warmStart: { steps: 1200, images: 8000, batchSize: 512, lr: 1e-3 } } };
};

/**
 * The W4 recipe with the teacher softened to temperature 4 (a probe, kept so
 * that its record can be reproduced: runs/probes/mnv2-hyperclip-lit-t4-s0).
 * Unit class vectors fitted to the head in the shipped W4 model's own
 * embedding space reach 40.1% Tiny ImageNet val zero-shot at T = 1 and 44.6%
 * at T = 4 (`npm run experiment:text-gap`, runs/text-gap/default.json), but
 * the text encoder learnt almost nothing from the softened tasks: its warm
 * start ended at 2.7% (W4's at 27.9%).
 */
const warmNodesT4Recipe = (name: string, model: string, network: string): TrainConfig => {
  const recipe = warmNodesRecipe(name, model, network);
  return { ...recipe, distill: { ...recipe.distill!, temperature: 4 } };
};

/**
 * A probe (runs/probes/mnv2-hyperclip-lit-scale-s0; it lost to W4 on
 * validation: Tiny ImageNet val 34.3% against 37.5%, held-out names 19.2%
 * against 24.9%). The W4 recipe with the distillation's logits at a fixed scale of 70
 * (distill.logitScale) instead of the model's learned one, which SigLIP holds
 * near 14.5: too low for cosine logits to express the head's T = 1
 * distributions. In W4's own embedding space, unit class vectors fitted to the
 * head reach 40.1% Tiny ImageNet val at the model's scale, 43.9 / 45.2 / 46.0 /
 * 46.5% at fixed scales 30 / 50 / 70 / 100, and 46.0% when the scale is
 * fitted too (it went to 70.6): runs/text-gap/default-scales.json.
 */
const warmNodesScaleRecipe = (name: string, model: string, network: string): TrainConfig => {
  const recipe = warmNodesRecipe(name, model, network);
  return { ...recipe, distill: { ...recipe.distill!, logitScale: 70 } };
};

/** E3's HyperCLIP recipe on MobileNet v2 with one lever changed. */
const towerProbe = (name: string, change: Partial<TrainConfig>): TrainConfig =>
  ({ ...litRecipe(name, 'mnv2-hyperclip', 'mobilenet_v2_1.0_224_quant'), ...change });

export const RECIPES: Record<string, TrainConfig> = {
  'tiny-hyperclip': { ...TINY, name: 'tiny-hyperclip', model: 'tiny-hyperclip' },
  'tiny-siglip': { ...TINY, name: 'tiny-siglip', model: 'tiny-siglip' },
  'tiny-hyperclip-c100': { ...TINY, name: 'tiny-hyperclip-c100', model: 'tiny-hyperclip', data: WITH_CIFAR100 },
  'tiny-siglip-c100': { ...TINY, name: 'tiny-siglip-c100', model: 'tiny-siglip', data: WITH_CIFAR100 },
  'tiny-hyperclip-frozen-words': { ...TINY, name: 'tiny-hyperclip-frozen-words', model: 'tiny-hyperclip', freeze: FROZEN_WORDS },
  'tiny-siglip-frozen-words': { ...TINY, name: 'tiny-siglip-frozen-words', model: 'tiny-siglip', freeze: FROZEN_WORDS },
  'tiny-resnet-hyperclip': { ...TINY, name: 'tiny-resnet-hyperclip', model: 'tiny-resnet-hyperclip' },
  'tiny-resnet-siglip': { ...TINY, name: 'tiny-resnet-siglip', model: 'tiny-resnet-siglip' },
  'tiny-tin-classify': TIN_CLASSIFY,
  'tiny-hyperclip-d': { ...STAGE_D, name: 'tiny-hyperclip-d', model: 'tiny-hyperclip' },
  'tiny-siglip-d': { ...STAGE_D, name: 'tiny-siglip-d', model: 'tiny-siglip' },
  'mnv2-hyperclip-lit': litRecipe('mnv2-hyperclip-lit', 'mnv2-hyperclip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-siglip-lit': litRecipe('mnv2-siglip-lit', 'mnv2-siglip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-hyperclip-lit-warm': warmRecipe('mnv2-hyperclip-lit-warm', 'mnv2-hyperclip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-siglip-lit-warm': warmRecipe('mnv2-siglip-lit-warm', 'mnv2-siglip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-hyperclip-lit-nodes': warmNodesRecipe('mnv2-hyperclip-lit-nodes', 'mnv2-hyperclip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-siglip-lit-nodes': warmNodesRecipe('mnv2-siglip-lit-nodes', 'mnv2-siglip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-hyperclip-lit-t4': warmNodesT4Recipe('mnv2-hyperclip-lit-t4', 'mnv2-hyperclip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-siglip-lit-t4': warmNodesT4Recipe('mnv2-siglip-lit-t4', 'mnv2-siglip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-hyperclip-lit-scale': warmNodesScaleRecipe('mnv2-hyperclip-lit-scale', 'mnv2-hyperclip', 'mobilenet_v2_1.0_224_quant'),
  'mnv2-siglip-lit-scale': warmNodesScaleRecipe('mnv2-siglip-lit-scale', 'mnv2-siglip', 'mobilenet_v2_1.0_224_quant'),
  'mnv1-050-hyperclip-lit': litRecipe('mnv1-050-hyperclip-lit', 'mnv1-050-hyperclip', 'mobilenet_v1_0.5_160_quant'),
  'mnv1-050-siglip-lit': litRecipe('mnv1-050-siglip-lit', 'mnv1-050-siglip', 'mobilenet_v1_0.5_160_quant'),
  'mnv1-025-hyperclip-lit': litRecipe('mnv1-025-hyperclip-lit', 'mnv1-025-hyperclip', 'mobilenet_v1_0.25_128_quant'),
  'mnv1-025-siglip-lit': litRecipe('mnv1-025-siglip-lit', 'mnv1-025-siglip', 'mobilenet_v1_0.25_128_quant'),
  // E1's HyperCLIP with the norms of the last stage only generated (blocks 12-13; the frozen prefix then runs the stem and 11
  // blocks): the lever for issue 30's throughput target (docs/performance.md); its accuracy against E1's is not measured yet.
  'mnv1-025-hyperclip-lit-last1': {
    ...litRecipe('mnv1-025-hyperclip-lit-last1', 'mnv1-025-hyperclip', 'mobilenet_v1_0.25_128_quant'),
    modelOverrides: { hypernet: { normLayers: { lastStages: 1 } } },
  },
  // Probes of E3's recipe, one lever each (npm run experiment:tower-probes, docs/tower-probes.md): the resolution, how many
  // stages' norms the hypernetwork generates, and the generated stages slowly tuned instead of locked.
  'mnv2-hyperclip-lit-px128': towerProbe('mnv2-hyperclip-lit-px128', { modelOverrides: { image: { imageSize: 128 } } }),
  'mnv2-hyperclip-lit-px96': towerProbe('mnv2-hyperclip-lit-px96', { modelOverrides: { image: { imageSize: 96 } } }),
  'mnv2-hyperclip-lit-last1': towerProbe('mnv2-hyperclip-lit-last1', { modelOverrides: { hypernet: { normLayers: { lastStages: 1 } } } }),
  'mnv2-hyperclip-lit-last5': towerProbe('mnv2-hyperclip-lit-last5', { modelOverrides: { hypernet: { normLayers: { lastStages: 5 } } } }),
  'mnv2-hyperclip-lit-tuned': towerProbe('mnv2-hyperclip-lit-tuned', {
    // The stem and blocks 0-15 stay locked; block 16 and the head convolution (the two generated stages) train at a tenth of the rate.
    freeze: [...Array.from({ length: 16 }, (_, b) => `imageEncoder.blocks.${b}`), 'imageEncoder.stem', ...FROZEN_WORDS],
    lrScale: { imageEncoder: 0.1 },
  }),
  'test-tiny': {
    ...TINY, name: 'test-tiny', model: 'test-tiny', wordPrior: false, batchSize: 8, steps: 6, warmupSteps: 2, checkpointEvery: 3,
    validateEvery: 0, logEvery: 1, validation: { cifar10Limit: 0, retrievalLimit: 0 },
  },
};

export const listRecipes = (): string[] => Object.keys(RECIPES);

const TRAIN_CONFIG_FIELDS = ['name', 'model', 'modelOverrides', 'freeze', ...Object.keys(TINY), 'objective', 'positives', 'init', 'lrScale', 'distill', 'overlapAllReduce', 'featureCache'];

/** A recipe by name, or a JSON file holding a partial config (with optional "preset" to start from). */
export function resolveTrainConfig(preset: string | undefined, configFile: string | undefined, overrides: Partial<TrainConfig> = {}): TrainConfig {
  let fromFile: Partial<TrainConfig> & { preset?: string } = {};
  if (configFile !== undefined) {
    if (!existsSync(configFile)) throw new Error(`config file not found: ${configFile}`);
    try {
      fromFile = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new Error(`${configFile} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const name = preset ?? fromFile.preset ?? 'tiny-hyperclip';
  const base = RECIPES[name];
  if (base === undefined) throw new Error(`unknown preset "${name}"; known: ${listRecipes().join(', ')}`);
  const { preset: _ignored, ...rest } = fromFile;
  const unknown = Object.keys(rest).filter((key) => !TRAIN_CONFIG_FIELDS.includes(key));
  if (unknown.length > 0) {
    throw new Error(`${configFile}: unknown train config field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: preset, ${TRAIN_CONFIG_FIELDS.join(', ')}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return validateTrainConfig({ ...structuredClone(base), ...rest, ...defined });
}

function positiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`expected a positive integer for ${field} but received ${value}`);
}

export function validateTrainConfig(c: TrainConfig): TrainConfig {
  positiveInt(c.batchSize, 'batchSize');
  positiveInt(c.steps, 'steps');
  positiveInt(c.checkpointEvery, 'checkpointEvery');
  if (!(c.lr > 0 && c.lr < 1)) throw new Error(`expected lr between 0 and 1 but received ${c.lr}`);
  if (!(c.warmupSteps >= 0)) throw new Error(`expected warmupSteps >= 0 but received ${c.warmupSteps}`);
  if (!(c.weightDecay >= 0)) throw new Error(`expected weightDecay >= 0 but received ${c.weightDecay}`);
  if (!(c.gradClip > 0)) throw new Error(`expected gradClip > 0 but received ${c.gradClip}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new Error(`expected a non-negative integer seed but received ${c.seed}`);
  if (!Array.isArray(c.data) || c.data.length === 0) throw new Error('the data mixture is empty: give at least one source');
  for (const s of c.data) {
    if (!(s.weight > 0)) throw new Error(`expected a positive weight for data source ${s.dataset} but received ${s.weight}`);
    if (s.senses !== undefined) {
      checkLabelSenses(s.senses, `data source ${s.dataset}: senses`);
      if (s.naming !== 'wordnet') throw new Error(`data source ${s.dataset}: senses applies to naming "wordnet" (WordNet hypernym phrases), got naming ${JSON.stringify(s.naming ?? 'classname')}`);
    }
  }
  if (c.freeze !== undefined && !(Array.isArray(c.freeze) && c.freeze.every((p) => typeof p === 'string' && p.length > 0))) {
    throw new Error(`freeze must be a list of parameter-name prefixes (e.g. ["textEncoder.tokenEmbedding"]), got ${JSON.stringify(c.freeze)}`);
  }
  if (c.objective !== undefined && c.objective !== 'contrastive' && c.objective !== 'classify') {
    throw new Error(`objective must be "contrastive" or "classify", got ${JSON.stringify(c.objective)}`);
  }
  if (c.positives !== undefined && c.positives !== 'diagonal' && c.positives !== 'same-label') {
    throw new Error(`positives must be "diagonal" or "same-label", got ${JSON.stringify(c.positives)}`);
  }
  if (c.init !== undefined && !(typeof c.init.from === 'string' && Array.isArray(c.init.parts) && c.init.parts.length > 0)) {
    throw new Error(`init must be {"from": RUN_FOLDER, "parts": ["imageEncoder", ...]}, got ${JSON.stringify(c.init)}`);
  }
  if (c.lrScale !== undefined) {
    for (const [prefix, scale] of Object.entries(c.lrScale)) {
      if (!(typeof scale === 'number' && scale >= 0 && scale <= 10)) throw new Error(`lrScale.${prefix} must be a number between 0 and 10, got ${JSON.stringify(scale)}`);
    }
  }
  validateValidation(c.validation);
  if (c.distill !== undefined) validateDistill(c.distill);
  if (c.overlapAllReduce !== undefined && typeof c.overlapAllReduce !== 'boolean') {
    throw new Error(`overlapAllReduce must be true or false, got ${JSON.stringify(c.overlapAllReduce)}`);
  }
  if (c.featureCache !== undefined) validateFeatureCache(c.featureCache);
  checkModel(c);
  return c;
}

function validateDistill(d: DistillConfig): void {
  if (d === null || typeof d !== 'object' || typeof d.teacher !== 'string' || d.teacher === '') {
    throw new Error(`distill must be {"teacher": PRETRAINED_FOLDER_OR_TFLITE, "weight", "classesPerTask", "temperature", "logitScale"?, "senses"?, "warmStart"?, "nodeTasks"?}, got ${JSON.stringify(d)}`);
  }
  const unknown = Object.keys(d).filter((k) => !DISTILL_FIELDS.includes(k));
  if (unknown.length > 0) throw new Error(`distill: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${DISTILL_FIELDS.join(', ')}`);
  if (!(d.weight > 0 && d.weight <= 100)) throw new Error(`distill.weight must be a number in (0, 100], got ${JSON.stringify(d.weight)}`);
  positiveInt(d.classesPerTask, 'distill.classesPerTask');
  if (d.classesPerTask < 2) throw new Error(`distill.classesPerTask must be at least 2, got ${d.classesPerTask}`);
  if (!(d.temperature > 0 && d.temperature <= 100)) throw new Error(`distill.temperature must be a number in (0, 100], got ${JSON.stringify(d.temperature)}`);
  if (d.logitScale !== undefined && !(typeof d.logitScale === 'number' && d.logitScale > 0 && d.logitScale <= 1000)) {
    throw new Error(`distill.logitScale is the fixed scale of the generated classifier's cosine logits in the distillation, a number in (0, 1000]; leave it out to use the model's own scale; got ${JSON.stringify(d.logitScale)}`);
  }
  if (d.senses !== undefined) checkLabelSenses(d.senses, 'distill.senses');
  if (d.warmStart !== undefined) validateWarmStart(d.warmStart);
  if (d.nodeTasks !== undefined && !(typeof d.nodeTasks === 'number' && d.nodeTasks >= 0 && d.nodeTasks <= 1)) {
    throw new Error(`distill.nodeTasks is the share of tasks over WordNet nodes, a number in [0, 1]; got ${JSON.stringify(d.nodeTasks)}`);
  }
}

const VALIDATION_FIELDS = ['cifar10Limit', 'retrievalLimit', 'tinyImagenetLimit', 'heldOutLimit', 'groupsLimit'] as const;

/** Every limit of the validation object is a number of images: an integer >= 0 (0 or absent: off). */
function validateValidation(v: TrainConfig['validation']): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`validation must be {${VALIDATION_FIELDS.map((f) => `"${f}"`).join(', ')}} (numbers of images, 0: off), got ${JSON.stringify(v)}`);
  }
  const unknown = Object.keys(v).filter((k) => !(VALIDATION_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`validation: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${VALIDATION_FIELDS.join(', ')}`);
  for (const field of VALIDATION_FIELDS) {
    const value = v[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new Error(`validation.${field} is a number of images, an integer >= 0 (0: off); got ${JSON.stringify(value)}`);
    }
  }
}

const DISTILL_FIELDS = ['teacher', 'weight', 'classesPerTask', 'temperature', 'logitScale', 'senses', 'warmStart', 'nodeTasks'];

const WARM_START_FIELDS = ['steps', 'images', 'batchSize', 'lr'];

function validateWarmStart(w: HeadWarmStartConfig): void {
  if (w === null || typeof w !== 'object' || Array.isArray(w)) {
    throw new Error(`distill.warmStart must be {"steps", "images", "batchSize", "lr"}, got ${JSON.stringify(w)}`);
  }
  const unknown = Object.keys(w).filter((k) => !WARM_START_FIELDS.includes(k));
  if (unknown.length > 0) throw new Error(`distill.warmStart: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${WARM_START_FIELDS.join(', ')}`);
  for (const field of WARM_START_FIELDS.slice(0, 3)) positiveInt(w[field as 'steps'], `distill.warmStart.${field}`);
  if (w.batchSize > w.images) throw new Error(`distill.warmStart.batchSize (${w.batchSize}) exceeds distill.warmStart.images (${w.images}): cache at least one batch of images`);
  if (!(w.lr > 0 && w.lr <= 1)) throw new Error(`distill.warmStart.lr must be a number in (0, 1], got ${JSON.stringify(w.lr)}`);
}

/** At most this many views per image: beyond it a cache costs more disk than fresh augmentation saves. */
export const MAX_VIEWS = 64;

function validateFeatureCache(f: FeatureCacheConfig): void {
  if (f === null || typeof f !== 'object' || Array.isArray(f)) throw new Error(`featureCache must be {"views": K, "blocks"?: N, "dir"?: FOLDER}, got ${JSON.stringify(f)}`);
  const unknown = Object.keys(f).filter((k) => !['views', 'blocks', 'dir'].includes(k));
  if (unknown.length > 0) throw new Error(`featureCache: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: views, blocks, dir`);
  if (f.blocks !== undefined && !(Number.isInteger(f.blocks) && f.blocks >= 0)) throw new Error(`featureCache.blocks must be an integer >= 0, got ${JSON.stringify(f.blocks)}`);
  if (!(Number.isInteger(f.views) && f.views >= 1 && f.views <= MAX_VIEWS)) throw new Error(`featureCache.views must be an integer from 1 to ${MAX_VIEWS}, got ${JSON.stringify(f.views)}`);
  if (f.dir !== undefined && !(typeof f.dir === 'string' && f.dir !== '')) throw new Error(`featureCache.dir must be a folder path, got ${JSON.stringify(f.dir)}`);
}

/** Resolves the model once here, so a bad preset or override fails before a run folder is made. */
function checkModel(c: TrainConfig): void {
  const overrides = c.modelOverrides ?? {};
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error(`modelOverrides must be an object of model config fields (e.g. {"loss": {"kind": "clip"}}), got ${JSON.stringify(overrides)}`);
  }
  try {
    resolveConfig({ ...overrides, preset: c.model });
  } catch (err) {
    throw new Error(`model of recipe ${c.name}: ${(err as Error).message}`);
  }
}
