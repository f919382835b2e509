// The classify objective: the model's image encoder and a linear head learn a
// labelled dataset's classes with cross-entropy. It is a first stage: its
// checkpoint is its result (a contrastive recipe inits its image encoder from
// it), validated by the head's top-1 on Tiny ImageNet val.
import { tensor, type AdamW, type Tensor } from '../../engine/index.js';
import type { Batch, LoaderSource } from '../../data/index.js';
import type { HyperClip } from '../../models/index.js';
import { LabelClassifier } from '../../models/label-classifier.js';
import { onDevice } from '../distributed-step.js';
import { createOptimizer } from '../optimizer.js';
import type { TrainConfig } from '../recipes.js';
import type { TrainReporter } from '../reporter.js';
import { validateLabelClassifier } from '../validate.js';
import { ONE_PROCESS_ONLY, type ObjectiveSetup, type ObjectiveValidation, type TrainingObjective } from './objective.js';

export class ClassifyObjective implements TrainingObjective {
  constructor(
    readonly trained: LabelClassifier, readonly optimizer: AdamW,
    /** The model whose image encoder the head sits on: its device and image size. */
    private readonly model: HyperClip,
    private readonly run: { config: TrainConfig; reporter: TrainReporter; checkpointFile: string },
  ) {}

  get output(): string {
    return this.run.checkpointFile;
  }

  loss(batch: Batch): Tensor {
    const images = onDevice(tensor(batch.images, [batch.size, 3, batch.height, batch.width]), this.model); // [B, 3, H, W]
    if (batch.labels === null) throw new Error('objective "classify" got a batch without labels');
    return this.trained.loss(images, batch.labels);
  }

  /** One process only (createClassifyObjective refuses a group): nothing to combine. */
  reduceGradients(): void {}

  logFields(): Record<string, number> {
    return {};
  }

  /** The head's top-1 is logged; the summary reports no validation (it has no zero-shot or retrieval figures). */
  async validate(): Promise<ObjectiveValidation | null> {
    const limit = this.run.config.validation.tinyImagenetLimit ?? 0;
    if (!(limit > 0)) return null;
    const top1 = await validateLabelClassifier(this.trained, this.model.config.image.imageSize, limit, this.run.reporter);
    return { fields: { tinyImagenetTop1: top1 }, result: null };
  }

  /** The last checkpoint is the output: there is nothing more to write. */
  save(): void {}
}

export function createClassifyObjective(config: TrainConfig, setup: ObjectiveSetup): ClassifyObjective {
  const { model, parallel, device } = setup;
  const classifier = new LabelClassifier(model.imageEncoder, classifyClasses(setup.sources)).train();
  if (parallel.group !== null) throw new Error(ONE_PROCESS_ONLY);
  if (config.overlapAllReduce === true) throw new Error('overlapAllReduce is for data-parallel runs, and the classify objective trains in one process: drop it');
  if (device !== 'cpu') classifier.to(device);
  const optimizer = createOptimizer(classifier, config); // before the run folder: a bad freeze list leaves nothing behind
  if (config.featureCache !== undefined) {
    throw new Error('featureCache stores a frozen prefix, and the classify objective trains the image encoder: drop "featureCache" from a classify recipe');
  }
  if (config.distill !== undefined) {
    throw new Error('distill teaches the generated classifiers of the contrastive objective: drop "distill" from a classify recipe');
  }
  return new ClassifyObjective(classifier, optimizer, model, { config, reporter: setup.reporter, checkpointFile: setup.checkpointFile });
}

/** The number of classes of the one labelled source that the classify objective learns. */
function classifyClasses(sources: LoaderSource[]): number {
  const labelled = sources.filter((s) => s.caption.kind === 'label');
  if (labelled.length !== 1 || sources.length !== 1) {
    throw new Error('objective "classify" needs exactly one data source, a labelled one (e.g. tiny-imagenet:train)');
  }
  return (labelled[0]!.caption as { classnames: string[] }).classnames.length;
}
