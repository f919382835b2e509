// Compression on a pretrained-tower model (issue 29): a tiny MobileNet v2
// with the default model's layout (TensorFlow SAME padding, frozen norm
// statistics, generated norms in the last stages) locked as a LiT recipe
// locks it. Pruning must cut its channels, count its FLOPs at its feature-map
// sizes, and compression must train the convolutions and norms it prunes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, randn, tensor, tidy } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { channelGroups } from '../../src/compress/channel-groups.js';
import { pruneChannels } from '../../src/compress/channel-surgery.js';
import { planChannels } from '../../src/compress/channel-plan.js';
import { classifierCost } from '../../src/compress/flops.js';
import { compressionFreeze, compressionTraining, prepareBatch, sharedTrunkEnd } from '../../src/compress/compress-loss.js';
import { LabelClassifier } from '../../src/models/label-classifier.js';
import { HeadDistillation } from '../../src/train/distill.js';
import { optimizationStep } from '../../src/compress/sam.js';
import { TaylorSaliency } from '../../src/compress/saliency.js';
import { tokenize } from '../../src/eval/text-features.js';
import { perturbHead } from '../models/helpers.js';

/** 40 px: the strided convs see 40 -> 20 -> 10 -> 5 -> 3 -> 2, where TensorFlow's SAME padding and floor((n - k) / s) + 1 part. */
function tinyMobileNet(seed: number): { model: HyperClip; tokenizer: Tokenizer } {
  manualSeed(seed);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({
    preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength },
    image: { family: 'mobilenetv2', widthMultiplier: 0.35, imageSize: 40, channelsLast: false },
    hypernet: { normLayers: { lastStages: 2 } },
  });
  const model = new HyperClip(config);
  perturbHead(model);
  return { model, tokenizer };
}

const LOCKED = ['imageEncoder', 'textEncoder.tokenEmbedding'];

function batchOf(size: number, seed: number) {
  manualSeed(seed);
  const captions = ['a dog', 'a cat', 'a red car', 'a ship', 'two dogs', 'a bird', 'a tree', 'a man'];
  return {
    images: randn([8, 3, size, size]).data() as Float32Array, size: 8, height: size, width: size, captions,
    labels: Int32Array.from([0, 1, 2, 3, 0, 1, -1, -1]), sources: Int32Array.from([1, 1, 1, 1, 1, 1, 0, 0]), keys: [],
  };
}

test('mobilenet v2: FLOPs follow the real feature-map sizes (TensorFlow SAME padding of strided convs)', () => {
  const { model } = tinyMobileNet(41);
  const encoder = model.imageEncoder;
  const layers = new Map(classifierCost(model).layers.map((l) => [l.name, l.macs]));
  const sizes = noGrad(() => tidy(() => {
    const x = randn([1, 3, 40, 40]);
    return Array.from({ length: encoder.blocks.length + 1 }, (_, b) => encoder.forwardPrefix(x, b).size(2));
  }));
  assert.deepEqual([...new Set(sizes)], [20, 10, 5, 3, 2]);
  const head = (encoder as unknown as { head: { conv: { outChannels: number; inChannels: number } } }).head.conv;
  assert.equal(layers.get('imageEncoder.head.conv'), head.outChannels * head.inChannels * sizes.at(-1)! ** 2, 'the head runs on the last block\'s map');
  const last = encoder.blocks.length - 1;
  const project = (encoder.blocks[last] as unknown as { project: { conv: { outChannels: number; inChannels: number } } }).project.conv;
  assert.equal(layers.get(`imageEncoder.blocks.${last}.project.conv`), project.outChannels * project.inChannels * sizes[last + 1]! ** 2);
});

test('mobilenet v2: channel pruning cuts every expanded group and the head, follows the generated norm rows, and reaches the FLOPs target', () => {
  const { model } = tinyMobileNet(42);
  model.eval();
  const groups = channelGroups(model);
  assert.equal(groups.length, model.imageEncoder.blocks.length, 'every block but the first (no expansion) and the head');
  const scores = new Map(groups.map((g) => [g.id, Float32Array.from({ length: g.channels }, (_, c) => (c * 7919) % 13)]));
  const dense = classifierCost(model);
  const plan = planChannels(model, scores, { flopsRatio: 0.5 });
  const pruned = pruneChannels(model, plan.keep).eval();
  assert.equal(classifierCost(pruned).macs, plan.macs);
  assert.ok(plan.macs <= 0.5 * dense.macs);
  assert.equal(pruned.config.image.channels!.expanded!.length, model.imageEncoder.blocks.length);
  assert.ok(model.hypernet!.targets.length > 0);
  assert.equal(pruned.hypernet!.head.weight.size(0), 2 * pruned.hypernet!.targets.reduce((n, t) => n + t.channels, 0));
  const features = noGrad(() => tidy(() => pruned.encodeImage(randn([2, 3, 40, 40])).shape));
  assert.deepEqual(features, [2, model.config.embedDim]);
});

test('compression of a locked (LiT) encoder: the pruned convolutions and norms train, the stem and first block stay a frozen prefix', () => {
  const { model, tokenizer } = tinyMobileNet(43);
  model.train();
  assert.deepEqual(compressionFreeze(model, LOCKED), ['imageEncoder.stem', 'imageEncoder.blocks.0', 'textEncoder']);
  assert.deepEqual(compressionFreeze(model, ['hypernet.head']), ['hypernet.head', 'textEncoder'], 'an unlocked recipe keeps its list, and the text encoder is frozen');
  assert.deepEqual(compressionFreeze(model, ['imageEncoder.blocks.0.depthwise', 'imageEncoder.head']), ['imageEncoder.blocks.0.depthwise', 'textEncoder']);

  const recipe = { ...resolveTrainConfig('test-tiny', undefined), freeze: LOCKED, positives: 'same-label' as const };
  const training = compressionTraining(model, recipe, tokenizer, 0);
  const names = new Set(training.params.map(([n]) => n));
  for (const group of channelGroups(model)) {
    for (const { key } of group.slices) if (!key.includes('running')) assert.ok(names.has(key), `${key} is pruned but would not train`);
  }
  assert.ok(![...names].some((n) => n.startsWith('imageEncoder.stem.') || n.startsWith('imageEncoder.blocks.0.') || n.startsWith('textEncoder.')));
  assert.ok([...names].some((n) => n.startsWith('hypernet.')) && names.has('imageProjection.weight'), 'the hypernetwork and the projection train');
  assert.equal(training.prefixBlocks, 1);

  // One step: the pruned layers move and the Taylor saliency gets its gradients (the locked encoder gave none).
  const saliency = new TaylorSaliency(channelGroups(model));
  const optimizer = createOptimizer(model, { ...training.recipe, lr: 1e-3 });
  const key = 'imageEncoder.blocks.1.expandConv.conv.weight';
  const before = model.stateDict().get(key)!.toArray();
  const step = optimizationStep({ model, optimizer, tokenizer, params: training.params, gradClip: 1, prepare: training.prepare }, batchOf(40, 44),
    { kind: 'sam', rho: 0.05 }, () => saliency.accumulate(model));
  assert.ok(Number.isFinite(step.loss) && step.perturbedLoss !== null);
  assert.equal(saliency.count, 1);
  assert.notDeepEqual(model.stateDict().get(key)!.toArray(), before);
});

test('compression of an unlocked model: the loss is the model\'s own training loss, with the text encoder frozen', () => {
  manualSeed(45);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const model = new HyperClip(resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } })).train();
  perturbHead(model);
  const training = compressionTraining(model, resolveTrainConfig('test-tiny', undefined), tokenizer, 0);
  assert.equal(training.prefixBlocks, null);
  assert.equal(training.params.length, [...model.namedParameters()].filter(([n]) => !n.startsWith('textEncoder.')).length);
  const batch = batchOf(32, 46);
  const prepared = training.prepare(batch);
  try {
    const ours = tidy(() => prepared.loss().item());
    const plain = tidy(() => model.trainingLoss(tensor(batch.images, [8, 3, 32, 32]), tokenize(tokenizer, batch.captions)).item());
    assert.ok(Number.isFinite(ours));
    assert.ok(Math.abs(ours - plain) < 1e-6, `${ours} vs ${plain}`);
  } finally {
    prepared.dispose();
  }
});

test('with distillation, the blocks both losses share run once: the same loss and gradients as running them for each loss', () => {
  const { model, tokenizer } = tinyMobileNet(47);
  model.train();
  const recipe = { ...resolveTrainConfig('test-tiny', undefined), freeze: LOCKED, positives: 'same-label' as const };
  const training = compressionTraining(model, recipe, tokenizer, 0); // no distill in the recipe: freezes, and gives the prefix
  const trunkEnd = sharedTrunkEnd(model);
  assert.equal(trunkEnd, Number(/^blocks\.(\d+)\./.exec(model.hypernet!.targets[0]!.name)![1]), 'the first block with a generated norm');
  assert.ok(trunkEnd > training.prefixBlocks! + 1, `a trunk of several trained blocks (${training.prefixBlocks} to ${trunkEnd})`);
  // A teacher sharing the encoder has the model's prefix by construction; two with one seed draw the same tasks.
  const teacher = new LabelClassifier(model.imageEncoder, 12);
  noGrad(() => tidy(() => teacher.head.bias!.copy_(randn([12]).mul(3))));
  const names = ['cat', 'dog', 'car', 'truck', 'ship', 'frog', 'bird', 'horse', 'deer', 'plane', 'apple', 'tree'].map((n) => [n]);
  const distillation = () => new HeadDistillation(teacher, { names, allowed: names.map((_, i) => i), templates: ['a photo of a {}.'] },
    { teacher: 'test', weight: 0.5, classesPerTask: 6, temperature: 1 }, tokenizer, 3);
  const batch = batchOf(40, 48);
  const lossAndGrads = (shareTrunk: boolean) => {
    const prepared = prepareBatch(model, tokenizer, training.recipe, training.prefixBlocks, distillation(), batch, { shareTrunk });
    try {
      for (const [, p] of training.params) p.grad = null;
      const loss = tidy(() => { const l = prepared.loss(); l.backward(); return l.item(); });
      return { loss, grads: training.params.map(([n, p]) => [n, p.grad === null ? null : p.grad.toArray() as number[]] as const) };
    } finally {
      prepared.dispose();
    }
  };
  const shared = lossAndGrads(true), separate = lossAndGrads(false);
  assert.ok(Number.isFinite(shared.loss));
  assert.ok(Math.abs(shared.loss - separate.loss) < 1e-5, `${shared.loss} vs ${separate.loss}`);
  let compared = 0;
  for (let i = 0; i < shared.grads.length; i++) {
    const [name, a] = shared.grads[i]!, b = separate.grads[i]![1];
    assert.equal(a === null, b === null, name);
    if (a === null || b === null) continue;
    const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
    const diff = a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j]!)), 0);
    assert.ok(diff <= 1e-4 * scale, `${name}: gradients differ by ${diff} (largest ${scale})`);
    compared++;
  }
  assert.ok(shared.grads.some(([n, g]) => n === 'imageEncoder.blocks.1.expandConv.conv.weight' && g !== null), 'the trunk gets its gradients');
  assert.ok(compared > 20, `${compared} gradients compared`);
});
