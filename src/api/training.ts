// Evaluation and training for the package's users: both run on libtorch, so
// each asks for the addon first and, without it, fails with one line that
// says how to build it (generation and classification never need it).
import { loadBundle } from '../bundle/bundle.js';
import { DATASETS, resolveData, type CaptionSource } from '../data/index.js';
import { libtorchVersion, useAllCores } from '../engine/runtime.js';
import { checkClassnames, resolveTemplates } from '../eval/templates.js';
import { evaluateZeroShot, type ZeroShotResult } from '../eval/zeroshot.js';
import { resolveTrainConfig, type TrainConfig } from '../train/recipes.js';
import { silentReporter, type TrainReporter } from '../train/reporter.js';
import { train as runTraining, type TrainSummary } from '../train/trainer.js';

export type { ZeroShotResult, TrainConfig, TrainReporter, TrainSummary };

export interface EvaluateOptions {
  /** A model folder (default: the shipped models/default). */
  model?: string;
  /**
   * A named dataset (cifar10, cifar100, tiny-imagenet under HYPERCLIP_DATA, default ../shared/data), or your own:
   * a folder of class folders (photos/cat/*.jpg: the folder names are the classes) or labelled shards with classNames. Default cifar10.
   */
  dataset?: string;
  /** The named dataset's split (default test). */
  split?: string;
  /** Class names: required for your own shards (their .cls order); for class folders, the label order (they must name the folders). */
  classNames?: string[];
  /** 'clip' (the dataset's CLIP set, default for named datasets), 'simple' (default for your own data), or your list of templates with {}. */
  templates?: 'clip' | 'simple' | string[];
  /** Evaluate a seeded sample of this many images. */
  limit?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number | null) => void;
}

/** Zero-shot classification accuracy of a model on labelled data (needs the libtorch addon). */
export async function evaluate(options: EvaluateOptions = {}): Promise<ZeroShotResult> {
  libtorchVersion(); // the one-line "how to build the addon" error, before any data is read
  const dataset = options.dataset ?? 'cifar10';
  const given = options.classNames === undefined ? undefined : checkClassnames(options.classNames, 'classNames');
  const data = resolveData(dataset, { split: dataset in DATASETS ? options.split ?? 'test' : options.split, classnames: given, need: 'labels' });
  const classNames = checkClassnames(data.classnames!, 'classNames');
  const choice = options.templates ?? (data.clipTemplates === null ? 'simple' : 'clip');
  const templates = Array.isArray(choice) ? choice : resolveTemplates(choice, data.clipTemplates);
  useAllCores();
  const bundle = loadBundle(options.model);
  try {
    const caption: CaptionSource = { kind: 'label', classnames: classNames, templates };
    return await evaluateZeroShot(bundle, { ...data.source, caption }, classNames, templates,
      { limit: options.limit, batchSize: options.batchSize, onProgress: options.onProgress });
  } finally {
    bundle.model.dispose();
  }
}

export interface TrainRunOptions {
  /** A recipe name (see RECIPES), e.g. tiny-hyperclip-frozen-words. */
  preset?: string;
  /** A JSON file with a partial recipe. */
  config?: string;
  /** Recipe fields to override (steps, batchSize, lr, seed, ...). */
  overrides?: Partial<TrainConfig>;
  /** The run folder (checkpoints, metrics, the model folder); default runs/NAME-sSEED. */
  out?: string;
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** Progress callbacks (default: silent). */
  reporter?: TrainReporter;
}

/** Trains a model from a recipe (needs the libtorch addon and the training data). */
export async function train(options: TrainRunOptions = {}): Promise<TrainSummary> {
  libtorchVersion();
  const config = resolveTrainConfig(options.preset, options.config, options.overrides ?? {});
  return runTraining(config, { outDir: options.out ?? `runs/${config.name}-s${config.seed}`, resume: options.resume === true, reporter: options.reporter ?? silentReporter });
}
