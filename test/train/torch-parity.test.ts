// One training step of our engine against PyTorch on the same weights and
// batch: the test-tiny model, real Flickr8k train images through the real
// loader, our trainStep against bench/reference/train_step.py (a plain
// PyTorch re-implementation of our models). Skipped only when
// /usr/bin/python3 cannot import torch, and never under CI=true.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { clipGradNorm, getNumThreads, manualSeed, setNumThreads, tidy, tensor, type Tensor } from '../../src/engine/index.js';
import { createLoader, trainPreprocess, type Batch } from '../../src/data/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { tokenize } from '../../src/eval/text-features.js';
import { HyperClip } from '../../src/models/index.js';
import { loaderSources } from '../../src/train/data-sources.js';
import { RECIPES, type TrainConfig } from '../../src/train/recipes.js';
import { ContrastiveLoss } from '../../src/train/objectives/contrastive-loss.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { trainStep } from '../../src/train/train-step.js';
import { modelConfigFor } from '../../src/train/trainer.js';
import {
  compareTensors, loadSnapshot, runTorchReference, snapshot, torchAvailable, writeReferenceInputs, type TensorDiff,
} from '../../bench/reference-train-client.js';
import { perturbHead } from '../models/helpers.js';
import { dependencyPresent, skipWithout } from '../ci/system-dependency.js';

const hasTorch = torchAvailable();
const TORCH_MISSING = '/usr/bin/python3 cannot import torch (install python3-torch): no PyTorch reference to compare with';
const skip = skipWithout(hasTorch, TORCH_MISSING);
const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-torch-parity-'));
const STEPS = 3;
const LRS = [1e-3, 2e-3, 1e-3];
let batches: Batch[] = [];
let tokenizer: Tokenizer;
const threadsBefore = getNumThreads();

before(async () => {
  setNumThreads(1);
  if (!hasTorch) return;
  tokenizer = Tokenizer.load(RECIPES['test-tiny']!.tokenizer);
  const base = RECIPES['test-tiny']!;
  const loader = createLoader({
    sources: loaderSources(base.data), batchSize: 8, seed: 3, shuffle: true, dropLast: true, workers: 1,
    preprocess: trainPreprocess(32, { scale: base.cropScale }),
  });
  try {
    for (let i = 0; i < STEPS; i++) batches.push((await loader.next())!);
  } finally {
    await loader.close();
  }
});

after(() => {
  setNumThreads(threadsBefore);
  rmSync(root, { recursive: true, force: true });
});

/** Worst difference relative to the tensor's own magnitude (absolute below `floor`). */
function worst(diffs: TensorDiff[], floor: number): TensorDiff & { rel: number } {
  return diffs.map((d) => ({ ...d, rel: d.maxAbs / Math.max(d.scale, floor) })).reduce((a, b) => (b.rel > a.rel ? b : a));
}

async function parity(t: TestContext, name: string, recipe: TrainConfig, prepare: (m: HyperClip) => void): Promise<void> {
  dependencyPresent(hasTorch, TORCH_MISSING); // reached without torch only under CI=true, where it fails the test
  manualSeed(recipe.seed);
  const model = new HyperClip(modelConfigFor(recipe, tokenizer)).train();
  prepare(model);
  const optimizer = createOptimizer(model, recipe);
  const dir = path.join(root, name);
  const ids = batches.map((b) => tokenize(tokenizer, b.captions));
  const inputs = writeReferenceInputs(dir, model, batches.map((b, i) => ({ ...b, ids: ids[i]! })));
  for (const t of ids) t.dispose();

  // Step 1 as trainStep does it, keeping the raw gradients for comparison.
  optimizer.lr = LRS[0]!;
  const loss1 = tidy(() => {
    const b = batches[0]!;
    const images = tensor(b.images, [b.size, 3, b.height, b.width]);
    const value = model.trainingLoss(images, tokenize(tokenizer, b.captions));
    value.backward();
    return value.item();
  });
  const ourGrads = snapshot([...model.namedParameters()].filter(([, p]) => p.grad !== null).map(([n, p]) => [n, p.grad!] as [string, Tensor]));
  const norm1 = clipGradNorm(optimizer.allParams(), recipe.gradClip);
  optimizer.step();
  optimizer.zeroGrad();
  const afterOne = snapshot(model.stateDict());
  const losses = [loss1];
  const batchLoss = new ContrastiveLoss({ model, tokenizer, positives: recipe.positives });
  for (let k = 1; k < STEPS; k++) {
    optimizer.lr = LRS[k]!;
    losses.push(trainStep(batchLoss, optimizer, recipe.gradClip, batches[k]!).loss);
  }
  const afterAll = snapshot(model.stateDict());

  const gradsFile = path.join(dir, 'grads.safetensors');
  const weightsFile = path.join(dir, 'after1.safetensors');
  const torch = runTorchReference(inputs, {
    lrs: LRS, threads: 1, weightDecay: recipe.weightDecay, gradClip: recipe.gradClip, gradsFile, weightsAfter: { step: 1, file: weightsFile },
  });
  const finalFile = path.join(dir, 'final.safetensors');
  runTorchReference(inputs, { lrs: LRS, threads: 1, weightDecay: recipe.weightDecay, gradClip: recipe.gradClip, weightsAfter: { step: STEPS, file: finalFile } });

  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
  const grads = worst(compareTensors(ourGrads, loadSnapshot(gradsFile)), 1e-4);
  const w1 = worst(compareTensors(afterOne, loadSnapshot(weightsFile)), 1);
  const wK = worst(compareTensors(afterAll, loadSnapshot(finalFile)), 1);
  const hyperGrad = [...ourGrads].filter(([n]) => n.startsWith('hypernet.mixer')).reduce((m, [, g]) => Math.max(m, ...g.map(Math.abs)), 0);
  t.diagnostic(`losses ours ${losses.map((l) => l.toFixed(6))} torch ${torch.loss.map((l) => l.toFixed(6))}; grad norm ${norm1} vs ${torch.grad_norm[0]}; ` +
    `gradients: ${grads.maxAbs === 0 ? 'all bitwise equal' : `worst ${grads.name} ${grads.maxAbs.toExponential(2)} of ${grads.scale.toExponential(2)}`}; ` +
    `weights after 1: ${w1.maxAbs === 0 ? 'all bitwise equal' : `${w1.name} ${w1.maxAbs.toExponential(2)}`}; ` +
    `after ${STEPS}: ${wK.name} ${wK.maxAbs.toExponential(2)}; max |grad| in hypernet.mixer ${hyperGrad.toExponential(2)}`);
  assert.ok(rel(loss1, torch.loss[0]!) < 1e-4, `${name}: step-1 loss ours ${loss1} vs torch ${torch.loss[0]}`);
  assert.ok(rel(norm1, torch.grad_norm[0]!) < 1e-3, `${name}: step-1 grad norm ours ${norm1} vs torch ${torch.grad_norm[0]}`);
  // Every parameter must have a gradient on both sides (an unused parameter would be missing from one).
  assert.ok(grads.rel < 1e-3, `${name}: gradient of ${grads.name} differs by ${grads.maxAbs} (magnitude ${grads.scale})`);
  assert.ok(w1.maxAbs < 1e-5, `${name}: after step 1, ${w1.name} differs by ${w1.maxAbs}`);
  assert.ok(wK.maxAbs < 1e-4, `${name}: after ${STEPS} steps, ${wK.name} differs by ${wK.maxAbs}`);
  for (let k = 1; k < STEPS; k++) assert.ok(rel(losses[k]!, torch.loss[k]!) < 1e-3, `${name}: step ${k + 1} loss ours ${losses[k]} vs torch ${torch.loss[k]}`);
  model.dispose();
  optimizer.dispose();
}

const recipe = (overrides: TrainConfig['modelOverrides']): TrainConfig => ({ ...structuredClone(RECIPES['test-tiny']!), modelOverrides: overrides });

test('SigLIP baseline: one training step equals PyTorch (loss, gradients, AdamW weights)', { skip }, async (t) => {
  await parity(t, 'siglip', recipe({ hypernet: null }), () => undefined);
});

test('HyperCLIP (hypernetwork on every norm layer, 2 tasks per batch): training steps equal PyTorch', { skip }, async (t) => {
  // A zero head would leave the hypernetwork's own gradients at zero; random head weights exercise the whole path.
  await parity(t, 'hyperclip', recipe({}), (m) => perturbHead(m, 0.05));
});

test('CLIP loss within task groups, hypernetwork on the last 2 stages: training steps equal PyTorch', { skip }, async (t) => {
  await parity(t, 'clip-group', recipe({ loss: { kind: 'clip', span: 'group' }, hypernet: { normLayers: { lastStages: 2 } } }), (m) => perturbHead(m, 0.05));
});

test('MobileNetV3 image encoder (hardswish, hardsigmoid gates), hypernetwork on the last 2 stages: training steps equal PyTorch', { skip }, async (t) => {
  await parity(t, 'mnv3', recipe({ image: { family: 'mobilenetv3', variant: 'small', widthMultiplier: 0.5 }, hypernet: { normLayers: { lastStages: 2 } } }),
    (m) => perturbHead(m, 0.05));
});

test('plain ResNet image encoder (basic blocks, projected shortcuts), hypernetwork on every norm layer: training steps equal PyTorch', { skip }, async (t) => {
  await parity(t, 'resnet', recipe({ image: { family: 'resnet', widthMultiplier: 0.25, headChannels: 64 } }), (m) => perturbHead(m, 0.05));
});
