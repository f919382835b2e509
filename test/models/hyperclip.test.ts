import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW, BatchNorm2d, F, noGrad, tidy, type Tensor } from '../../src/engine/index.js';
import { maxAbsDiff, perturbHead, randomBatch, tinyModel } from './helpers.js';

test('training loss is a finite scalar; bad group sizes are clear errors', () => {
  const { model, config } = tinyModel();
  tidy(() => {
    const { images, ids } = randomBatch(config, 8);
    const loss = model.trainingLoss(images, ids, 4);
    assert.deepEqual(loss.shape, []);
    assert.ok(Number.isFinite(loss.item()));
    assert.throws(() => model.trainingLoss(images, ids, 3), /batch size 8 is not divisible by the task group size 3/);
    assert.throws(() => model.trainingLoss(images, ids.narrow(0, 0, 4), 4), /batch has 8 images but 4 captions/);
  });
  model.dispose();
});

test('gradients reach the text encoder through the hypernetwork alone', () => {
  const { model, config } = tinyModel();
  // At step 0 the zero head blocks every gradient upstream of it (its
  // weights are 0); give it the small weights it has after a first update.
  perturbHead(model);
  tidy(() => {
    const { images, ids } = randomBatch(config, 8);
    const texts = model.encodeText(ids).reshape([2, 4, config.embedDim]); // [tasks, G, E]
    // A loss on the image side only: the text enters only via the generated norm params.
    const features = model.encodeImage(images, model.generateNormParams(texts));
    features.square().mean().backward();
    const textGrads = [...model.textEncoder.namedParameters()].map(([name, p]) => [name, p.grad?.abs().sum().item() ?? 0] as const);
    const reached = textGrads.filter(([, g]) => g > 0);
    assert.equal(reached.length, textGrads.length, `text encoder params without gradient: ${textGrads.filter(([, g]) => g === 0).map(([n]) => n)}`);
    assert.ok((model.textEncoder.tokenEmbedding.weight.grad?.abs().sum().item() ?? 0) > 0);
  });
  model.dispose();
});

test('frozen MobileNet v1 with generated norms (the LiT recipes): the fused norm + relu6 gives the standard ops\' loss and gradients', () => {
  const { model, config } = tinyModel({ image: { family: 'mobilenetv1', widthMultiplier: 0.25, imageSize: 32 }, hypernet: { normLayers: { lastStages: 2 } } }, 5);
  for (const p of model.imageEncoder.parameters()) p.requiresGrad = false; // as the recipes' freeze list
  perturbHead(model, 0.2);
  const first = model.hypernet!.targets[0]!.name; // blocks.5.depthwise.norm: the frozen prefix is the stem and 5 blocks
  assert.match(first, /^blocks\.5\./);
  const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
  const { images, ids } = randomBatch(config, 8);
  const prefix = noGrad(() => model.imageEncoder.forwardPrefix(images, 5));
  const step = (): { loss: number; grads: [string, number[] | null][] } => tidy(() => {
    const loss = model.trainingLoss({ prefix, block: 5 }, ids, 4);
    loss.backward();
    const grads = trainable.map(([name, p]): [string, number[] | null] => [name, p.grad === null ? null : Array.from(p.grad.toArray() as ArrayLike<number>)]);
    for (const [, p] of trainable) p.grad = null;
    return { loss: loss.item(), grads };
  });
  const original = BatchNorm2d.prototype.forwardClamped;
  let fusedCalls = 0;
  BatchNorm2d.prototype.forwardClamped = function (this: BatchNorm2d, ...args: Parameters<BatchNorm2d['forwardClamped']>): Tensor | null {
    const out = original.apply(this, args);
    if (out !== null) fusedCalls++;
    return out;
  };
  let fused: ReturnType<typeof step>, standard: ReturnType<typeof step>;
  try {
    fused = step();
    BatchNorm2d.prototype.forwardClamped = () => null; // every norm as batchNorm + addcmul, then relu6
    standard = step();
  } finally {
    BatchNorm2d.prototype.forwardClamped = original;
  }
  assert.equal(fusedCalls, 16, 'blocks 5-12: a depthwise and a pointwise norm each, all fused');
  assert.ok(Math.abs(fused.loss - standard.loss) <= 1e-5 * (1 + Math.abs(standard.loss)), `loss ${fused.loss} vs ${standard.loss}`);
  fused.grads.forEach(([name, g], i) => {
    const want = standard.grads[i]![1];
    assert.equal(g === null, want === null, `${name}: gradient ${g === null ? 'missing' : 'present'} on one path only`);
    if (g !== null) g.forEach((v, j) => assert.ok(Math.abs(v - want![j]!) <= 1e-5 * (1 + Math.abs(want![j]!)), `${name}[${j}]: ${v} vs ${want![j]}`));
  });
  assert.ok(fused.grads.some(([name, g]) => name.startsWith('textEncoder.') && g !== null && g.some((v) => v !== 0)), 'the text side trains');
  for (const [name, p] of model.imageEncoder.namedParameters()) assert.equal(p.grad, null, `frozen imageEncoder.${name} got a gradient`);
  model.dispose();
});

test('the baseline has no hypernetwork and refuses to generate', () => {
  const { model, config } = tinyModel({ hypernet: null });
  assert.equal(model.hypernet, null);
  tidy(() => {
    const { images, ids } = randomBatch(config, 8);
    assert.ok(Number.isFinite(model.trainingLoss(images, ids, 4).item()));
    assert.throws(() => model.generateNormParams(model.encodeText(ids).unsqueeze(0)), /has no hypernetwork/);
  });
  model.dispose();
});

for (const variant of ['hyperclip', 'siglip', 'clip loss, group span'] as const) {
  test(`a few AdamW steps reduce the loss on a fixed batch (${variant})`, () => {
    const overrides = variant === 'siglip' ? { hypernet: null } : variant === 'hyperclip' ? {} : { loss: { kind: 'clip' as const, span: 'group' as const, logitScaleInit: Math.log(10) } };
    const { model, config } = tinyModel(overrides, 3);
    const { images, ids } = randomBatch(config, 16);
    const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) {
      losses.push(tidy(() => {
        optimizer.zeroGrad();
        const loss = model.trainingLoss(images, ids, 4);
        loss.backward();
        optimizer.step();
        return loss.item();
      }));
    }
    assert.ok(losses.at(-1)! < losses[0]! * 0.8, `loss went ${losses[0]} -> ${losses.at(-1)}`);
    model.dispose();
  });
}

test('zero-shot classifier: normalised class embeddings, one task of norm params, scale and bias', () => {
  const { model, config } = tinyModel();
  perturbHead(model);
  model.eval();
  tidy(() => {
    const { images, ids } = randomBatch(config, 6);
    const prompts = ids.reshape([3, 2, config.text.contextLength]); // [K=3, P=2, T]
    const classifier = model.zeroShotClassifier(prompts);
    assert.deepEqual(classifier.classEmbeddings.shape, [3, config.embedDim]);
    const norms = classifier.classEmbeddings.norm(2, 1).toArray();
    for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-5);
    assert.ok(classifier.normParams !== null && [...classifier.normParams.values()].every((p) => p.scale.size(0) === 1));
    assert.ok(Math.abs(classifier.logitScale - 10) < 1e-4);
    assert.ok(Math.abs(classifier.logitBias + 10) < 1e-4);
    const logits = model.classify(images, classifier);
    assert.deepEqual(logits.shape, [6, 3]);
    // Order of classes only permutes the logits' columns: the generated encoder is the same.
    const reversed = model.zeroShotClassifier(prompts.flip([0]));
    const flipped = model.classify(images, reversed).flip([1]);
    assert.ok(logits.sub(flipped).abs().amax().item() < 1e-4);
  });
  model.dispose();
});

test('each task group conditions only its own images', () => {
  const { model, config } = tinyModel();
  perturbHead(model, 0.2);
  model.eval(); // running statistics: samples do not interact through batch statistics
  tidy(() => {
    const { images, ids } = randomBatch(config, 8);
    const other = randomBatch(config, 8).ids;
    const embed = (captions: typeof ids) => model.encodeImage(images, model.generateNormParams(model.encodeText(captions).reshape([2, 4, config.embedDim])));
    const a = embed(ids);
    // Replace the captions of task 1 (pairs 4..7) only.
    const b = embed(F.cat([ids.narrow(0, 0, 4), other.narrow(0, 4, 4)], 0));
    assert.ok(maxAbsDiff(a.narrow(0, 0, 4), b.narrow(0, 0, 4)) < 1e-6, 'task 0 images unchanged');
    assert.ok(maxAbsDiff(a.narrow(0, 4, 4), b.narrow(0, 4, 4)) > 1e-5, 'task 1 images changed');
  });
  model.dispose();
});
