// The frozen prefix and the head distillation: the pieces the pretrained-tower
// recipes add to training, on tiny models (no data files needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW, F, manualSeed, noGrad, randn, tidy } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { LabelClassifier } from '../../src/models/label-classifier.js';
import { HeadDistillation } from '../../src/train/distill.js';
import { checkSharedPrefix, computePrefix, frozenPrefixBlocks } from '../../src/train/frozen-prefix.js';
import { trainableParameters } from '../../src/train/param-groups.js';
import { maxAbsDiff, tinyModel } from '../models/helpers.js';

const tokenizer = Tokenizer.load('wordnet-8k');
const MOBILENET = {
  image: { family: 'mobilenetv1' as const, widthMultiplier: 0.25, imageSize: 32 },
  text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken },
  hypernet: { normLayers: { lastStages: 2 } },
};

function setup() {
  const { model, config } = tinyModel(MOBILENET);
  return { model, config, tokenizer };
}

test('forwardFrom(forwardPrefix(x, b), b) equals the whole encoder at every split', () => {
  const { model } = setup();
  model.eval();
  const x = randn([2, 3, 32, 32]);
  const whole = noGrad(() => model.imageEncoder.forward(x));
  for (const b of [0, 3, model.imageEncoder.blocks.length]) {
    const split = noGrad(() => model.imageEncoder.forwardFrom(model.imageEncoder.forwardPrefix(x, b), b));
    assert.ok(maxAbsDiff(whole, split) < 1e-5, `split after block ${b}`);
  }
  assert.throws(() => model.imageEncoder.forwardPrefix(x, 99), /cannot split it after block 99/);
  const middle = noGrad(() => model.imageEncoder.forwardBlocks(model.imageEncoder.forwardPrefix(x, 1), 1, 3));
  assert.ok(maxAbsDiff(middle, noGrad(() => model.imageEncoder.forwardPrefix(x, 3))) < 1e-5, 'blocks 1-2 alone');
  assert.throws(() => model.imageEncoder.forwardBlocks(x, 3, 1), /cannot go from block 3 back to block 1/);
});

test('the frozen prefix ends where generated norms or trainable weights begin', () => {
  const { model } = setup();
  assert.equal(frozenPrefixBlocks(model), null, 'nothing frozen: the stem trains');
  trainableParameters(model, ['imageEncoder']);
  const blocks = frozenPrefixBlocks(model)!;
  const firstGenerated = model.hypernet!.targets[0]!.name; // blocks.K.…
  assert.equal(blocks, Number(/^blocks\.(\d+)\./.exec(firstGenerated)![1]));
  assert.ok(blocks > 0 && blocks < model.imageEncoder.blocks.length);
});

test('distillation trains the text side towards the teacher, and a teacher with other weights is refused', () => {
  manualSeed(1);
  const { model } = setup();
  trainableParameters(model, ['imageEncoder']);
  const blocks = frozenPrefixBlocks(model)!;
  const teacher = new LabelClassifier(model.imageEncoder, 12); // shares the encoder: the same prefix by construction
  // A confident teacher (a random encoder's features barely differ between images): its preferences come from the head.
  noGrad(() => tidy(() => teacher.head.bias!.copy_(randn([12]).mul(3))));
  const names = Array.from({ length: 12 }, (_, i) => [['cat', 'dog', 'car', 'truck', 'ship', 'frog', 'bird', 'horse', 'deer', 'plane', 'apple', 'tree'][i]!]);
  const distill = new HeadDistillation(teacher, { names, allowed: names.map((_, i) => i).filter((i) => i !== 5), templates: ['a photo of a {}.'] },
    { teacher: 'test', weight: 1, classesPerTask: 6, temperature: 1 }, tokenizer, 0);
  checkSharedPrefix(model, teacher, blocks);
  const other = new LabelClassifier(tinyModel(MOBILENET, 7).model.imageEncoder, 12);
  assert.throws(() => checkSharedPrefix(model, other, blocks), /differs from the teacher's/);

  model.train();
  const images = randn([8, 3, 32, 32]);
  const optimizer = new AdamW([{ params: [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([, p]) => p), weightDecay: 0 }], { lr: 3e-3 });
  const losses: number[] = [];
  for (let step = 0; step < 25; step++) {
    const loss = tidy(() => {
      const value = distill.loss(model, computePrefix(model, images, blocks));
      value.backward();
      return value.item();
    });
    optimizer.step();
    optimizer.zeroGrad();
    losses.push(loss);
  }
  assert.ok(losses.every(Number.isFinite));
  const head = (xs: number[]) => xs.slice(0, 5).reduce((a, b) => a + b) / 5;
  assert.ok(head(losses.slice(-5)) < head(losses) - 0.05, `loss ${head(losses).toFixed(3)} -> ${head(losses.slice(-5)).toFixed(3)}`);
  // The image encoder stayed frozen, the hypernetwork learned.
  assert.ok(noGrad(() => tidy(() => model.hypernet!.head.weight.abs().amax().item())) > 0);
  assert.equal([...model.imageEncoder.namedParameters()].some(([, p]) => p.requiresGrad), false);
  void F;
});

test('distill.logitScale fixes the scale of the distillation\'s logits; absent, the model\'s learned scale is used and trained', () => {
  manualSeed(2);
  const { model } = setup();
  trainableParameters(model, ['imageEncoder']);
  const blocks = frozenPrefixBlocks(model)!;
  const teacher = new LabelClassifier(model.imageEncoder, 12);
  noGrad(() => tidy(() => teacher.head.bias!.copy_(randn([12]).mul(3))));
  const names = ['cat', 'dog', 'car', 'truck', 'ship', 'frog', 'bird', 'horse', 'deer', 'plane', 'apple', 'tree'].map((n) => [n]);
  const make = (logitScale?: number) => new HeadDistillation(teacher, { names, allowed: names.map((_, i) => i), templates: ['a photo of a {}.'] },
    { teacher: 'test', weight: 1, classesPerTask: 6, temperature: 1, ...(logitScale === undefined ? {} : { logitScale }) }, tokenizer, 0);
  model.eval();
  const images = randn([4, 3, 32, 32]);
  const lossOf = (distill: HeadDistillation): number => noGrad(() => tidy(() => distill.loss(model, computePrefix(model, images, blocks)).item()));
  const own = Math.exp(model.logitScale.item());
  const learned = lossOf(make());
  assert.ok(Math.abs(learned - lossOf(make(own))) < 1e-4, 'the model\'s own scale, given as a fixed one, gives the same loss');
  const other = lossOf(make(own * 50));
  assert.ok(Math.abs(learned - other) > 1e-3, `another fixed scale gives another loss: ${learned} and ${other}`);
  const gradOfScale = (distill: HeadDistillation): number => {
    for (const p of model.parameters()) p.grad?.fill_(0);
    tidy(() => distill.loss(model, computePrefix(model, images, blocks)).backward());
    return Math.abs(model.logitScale.grad?.item() ?? 0);
  };
  assert.ok(gradOfScale(make()) > 0, 'without a fixed scale the distillation trains the model\'s scale');
  assert.equal(gradOfScale(make(50)), 0, 'with a fixed scale it leaves the model\'s scale alone');
});

test('distill.logitScale out of range or of the wrong type is one line that says what it is', async () => {
  const { RECIPES, resolveTrainConfig } = await import('../../src/train/recipes.js');
  const withScale = (logitScale: unknown) => resolveTrainConfig('mnv1-025-hyperclip-lit', undefined, { distill: { ...RECIPES['mnv1-025-hyperclip-lit']!.distill!, logitScale } as never });
  assert.equal(withScale(50).distill!.logitScale, 50);
  assert.throws(() => withScale(0), /distill\.logitScale is the fixed scale of the generated classifier's cosine logits in the distillation, a number in \(0, 1000\]; leave it out to use the model's own scale; got 0/);
  assert.throws(() => withScale('high'), /distill\.logitScale .* got "high"/);
});
