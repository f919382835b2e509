// The training objectives as the trainer sees them (src/train/objectives/):
// what trains, the per-batch loss, the logged figures, the output, and the
// recipes their setup refuses. Tiny models and made-up batches: no data files.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { manualSeed, type Tensor } from '../../src/engine/index.js';
import { trainPreprocess, type Batch, type LoaderSource } from '../../src/data/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip } from '../../src/models/index.js';
import { LabelClassifier } from '../../src/models/label-classifier.js';
import { singleProcess } from '../../src/train/distributed.js';
import { createObjective } from '../../src/train/objectives/create.js';
import type { ObjectiveSetup } from '../../src/train/objectives/objective.js';
import { resolveTrainConfig, type TrainConfig } from '../../src/train/recipes.js';
import { silentReporter } from '../../src/train/reporter.js';
import { trainStep } from '../../src/train/train-step.js';
import { modelConfigFor } from '../../src/train/trainer.js';

const contrastive = resolveTrainConfig('test-tiny', undefined);
const classify = resolveTrainConfig('tiny-tin-classify', undefined, { model: 'test-tiny', tokenizer: contrastive.tokenizer });
const tokenizer = Tokenizer.load(contrastive.tokenizer);
const CLASSES = ['cat', 'dog', 'fish'];
const labelled: LoaderSource = { shards: 'unused-*.tar', caption: { kind: 'label', classnames: CLASSES, templates: ['a photo of a {}.'] } };
const captioned: LoaderSource = { shards: 'unused-*.tar', caption: { kind: 'text' } };

function setup(config: TrainConfig, sources: LoaderSource[]): ObjectiveSetup {
  manualSeed(config.seed);
  const model = new HyperClip(modelConfigFor(config, tokenizer)).train();
  return { model, tokenizer, sources, parallel: singleProcess, device: 'cpu', reporter: silentReporter, outDir: '/run', checkpointFile: '/run/checkpoint.safetensors', preprocess: trainPreprocess(32) };
}

/** 8 random 32 px images (two task groups of test-tiny's 4), captioned, with labels when given. */
function batch(labels: number[] | null): Batch {
  const size = 8, side = 32;
  const images = Float32Array.from({ length: size * 3 * side * side }, (_, i) => Math.sin(i * 0.37));
  const captions = Array.from({ length: size }, (_, i) => `a photo of a ${CLASSES[i % 3]}.`);
  return {
    images, size, height: side, width: side, captions, labels: labels === null ? null : Int32Array.from(labels),
    sources: new Int32Array(size), keys: captions.map((_, i) => `k${i}`),
  };
}

const values = (t: Tensor): number[] => Array.from(t.data() as Float32Array);

test('the contrastive objective trains the whole model, logs its logit scale and bias, and leaves a model folder', () => {
  const parts = setup(contrastive, [captioned]);
  const objective = createObjective(contrastive, parts);
  assert.equal(objective.trained, parts.model);
  assert.equal(objective.output, path.join('/run', 'model'));
  assert.deepEqual(objective.logFields(), { logitScale: Math.exp(parts.model.logitScale.item()), logitBias: parts.model.logitBias.item() });
  const before = values(parts.model.logitBias);
  const { loss, gradNorm } = trainStep(objective, objective.optimizer, contrastive.gradClip, batch(null));
  assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
  assert.ok(gradNorm > 0, `gradient norm ${gradNorm}`);
  assert.notDeepEqual(values(parts.model.logitBias), before, 'one step moved the logit bias');
});

test('the contrastive objective has nothing to validate at the end when no limit asks for it', async () => {
  const objective = createObjective(contrastive, setup(contrastive, [captioned]));
  assert.equal(await objective.validate('end'), null);
});

test('the classify objective trains a head on the model\'s image encoder; its checkpoint is its output and it logs no extra figures', async () => {
  const parts = setup(classify, [labelled]);
  const objective = createObjective({ ...classify, validation: { cifar10Limit: 0, retrievalLimit: 0, tinyImagenetLimit: 0 } }, parts);
  assert.ok(objective.trained instanceof LabelClassifier);
  assert.equal((objective.trained as LabelClassifier).imageEncoder, parts.model.imageEncoder);
  assert.equal((objective.trained as LabelClassifier).classes, CLASSES.length);
  assert.equal(objective.output, '/run/checkpoint.safetensors');
  assert.deepEqual(objective.logFields(), {});
  assert.equal(await objective.validate('end'), null, 'no Tiny ImageNet limit: nothing to validate');
  const { loss } = trainStep(objective, objective.optimizer, classify.gradClip, batch([0, 1, 2, 0, 1, 2, 0, 1]));
  assert.ok(Number.isFinite(loss) && loss > 0, `cross-entropy ${loss}`);
  assert.throws(() => trainStep(objective, objective.optimizer, classify.gradClip, batch(null)), /objective "classify" got a batch without labels/);
});

test('a classify recipe needs one labelled source and takes no distillation', () => {
  assert.throws(() => createObjective(classify, setup(classify, [captioned])), /objective "classify" needs exactly one data source, a labelled one/);
  assert.throws(() => createObjective(classify, setup(classify, [labelled, labelled])), /needs exactly one data source/);
  const distill = { teacher: 'pretrained:mobilenet_v1_0.25_128_quant', weight: 1, classesPerTask: 2, temperature: 1 };
  assert.throws(() => createObjective({ ...classify, distill }, setup(classify, [labelled])), /distill teaches the generated classifiers of the contrastive objective/);
});

test('a non-finite loss updates nothing and leaves no gradient behind', () => {
  const parts = setup(contrastive, [captioned]);
  const objective = createObjective(contrastive, parts);
  const before = values(parts.model.logitScale);
  const poisoned = { loss: (b: Batch) => objective.loss(b).mul(NaN), reduceGradients: () => undefined };
  const { loss, gradNorm } = trainStep(poisoned, objective.optimizer, contrastive.gradClip, batch(null));
  assert.ok(Number.isNaN(loss) && Number.isNaN(gradNorm));
  assert.deepEqual(values(parts.model.logitScale), before);
  assert.ok(objective.optimizer.allParams().every((p) => p.grad === null || values(p.grad).every((g) => g === 0)), 'gradients cleared');
});
