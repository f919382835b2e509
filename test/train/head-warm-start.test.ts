// The warm start from the pretrained head (src/train/head-warm-start.ts): its
// loss on cached pooled features is the distillation loss the run computes
// through the encoder while the hypernetwork is untrained, it learns, it runs
// once per run (not again on resume) and its settings are checked.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { manualSeed, noGrad, randn, tidy } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { LabelClassifier } from '../../src/models/label-classifier.js';
import { pretrainedFile } from '../../src/models/import/pretrained-ref.js';
import { HeadDistillation } from '../../src/train/distill.js';
import { computePrefix, frozenPrefixBlocks } from '../../src/train/frozen-prefix.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { trainableParameters } from '../../src/train/param-groups.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import type { TrainReporter } from '../../src/train/reporter.js';
import { train } from '../../src/train/trainer.js';
import { tinyModel } from '../models/helpers.js';

const tokenizer = Tokenizer.load('wordnet-8k');
const NAMES = ['cat', 'dog', 'car', 'truck', 'ship', 'frog', 'bird', 'horse', 'deer', 'plane', 'apple', 'tree'].map((n) => [n]);

function distillation(teacher: LabelClassifier, seed: number): HeadDistillation {
  return new HeadDistillation(teacher, { names: NAMES, allowed: NAMES.map((_, i) => i), templates: ['a photo of a {}.', 'a {}.'] },
    { teacher: 'test', weight: 1, classesPerTask: 6, temperature: 1 }, tokenizer, seed);
}

test('on pooled features the loss is the one through the encoder while the hypernetwork is untrained, and not after', () => {
  manualSeed(2);
  const { model } = tinyModel({
    image: { family: 'mobilenetv1' as const, widthMultiplier: 0.25, imageSize: 32 },
    text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken },
    hypernet: { normLayers: { lastStages: 2 } },
  });
  trainableParameters(model, ['imageEncoder']);
  const blocks = frozenPrefixBlocks(model)!;
  const teacher = new LabelClassifier(model.imageEncoder, NAMES.length);
  noGrad(() => tidy(() => teacher.head.bias!.copy_(randn([NAMES.length]).mul(3))));
  model.eval();
  const images = randn([6, 3, 32, 32]);
  const compare = (): [number, number] => noGrad(() => tidy(() => {
    const prefix = computePrefix(model, images, blocks);
    const through = distillation(teacher, 5).loss(model, prefix).item();
    const pooled = model.imageEncoder.forwardFrom(prefix.prefix, prefix.block);
    const onFeatures = distillation(teacher, 5).lossOnFeatures(model, pooled, distillation(teacher, 5).teacherLogits(prefix)).item();
    return [through, onFeatures];
  }));
  const [through, onFeatures] = compare();
  assert.ok(Number.isFinite(through));
  assert.ok(Math.abs(through - onFeatures) < 1e-5, `${through} vs ${onFeatures}`);
  // Once the hypernetwork generates norms, the cached features are no longer the model's.
  noGrad(() => tidy(() => model.hypernet!.head.bias!.copy_(randn([model.hypernet!.head.bias!.size(0)]).mul(0.5))));
  const [afterThrough, afterFeatures] = compare();
  assert.ok(Math.abs(afterThrough - afterFeatures) > 1e-4, `${afterThrough} vs ${afterFeatures}`);
});

const NETWORK = 'pretrained:mobilenet_v1_0.25_128_quant';
// The pretrained files live in the shared data: missing data skips locally but fails on CI.
const skip = existsSync(pretrainedFile(NETWORK)!) || process.env.CI === 'true' ? false : `${pretrainedFile(NETWORK)} is missing (set HYPERCLIP_DATA)`;
const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-warm-start-'));
after(() => rmSync(root, { recursive: true, force: true }));

class Interrupt extends Error {}

function reporter(starts: number[], messages: string[], stopAtMainStep = Infinity): TrainReporter {
  let total = 0;
  return {
    start: (steps, from) => { total = steps; starts.push(from); },
    // The warm start reports its steps through the same reporter; only the main loop (3 steps) is interrupted.
    step: (step) => { if (total === 3 && step >= stopAtMainStep) throw new Interrupt(`interrupted during step ${step}`); },
    message: (line) => { messages.push(line); },
    stop: () => undefined,
  };
}

const warmConfig = (warmStart: unknown) => resolveTrainConfig('mnv1-025-siglip-lit', undefined, {
  modelOverrides: { embedDim: 16, image: { imageSize: 32 }, text: { width: 16, layers: 1, heads: 2, mlpRatio: 2 } },
  init: { from: NETWORK, parts: ['imageEncoder'] },
  distill: { teacher: NETWORK, weight: 1, classesPerTask: 8, temperature: 1, warmStart } as never,
  data: [{ dataset: 'flickr8k:train', weight: 1 }],
  wordPrior: false, batchSize: 4, steps: 3, warmupSteps: 1, checkpointEvery: 2, validateEvery: 0, logEvery: 1,
  validation: { cifar10Limit: 0, retrievalLimit: 0 },
});

test('a fresh run warm-starts before its first step, learns on the cached features, and a resumed run does not repeat it', { skip }, async () => {
  const config = warmConfig({ steps: 60, images: 8, batchSize: 8, lr: 0.01 });
  const dir = path.join(root, 'warm');
  const starts: number[] = [], messages: string[] = [];
  await assert.rejects(train(config, { outDir: dir, resume: false, reporter: reporter(starts, messages, 3) }), Interrupt);
  const warm = new MetricsLog(path.join(dir, 'metrics.jsonl')).read().filter((r) => r.event === 'warm-start');
  assert.equal(warm.length, 1);
  assert.equal(warm[0]!.images, 8);
  assert.equal(warm[0]!.steps, 60);
  // Eight images, 60 steps: the text side fits the teacher's task distributions on them.
  assert.ok((warm[0]!.finalLoss as number) < (warm[0]!.firstLoss as number) - 0.1, `warm-start loss ${warm[0]!.firstLoss} -> ${warm[0]!.finalLoss}`);
  assert.ok(messages.some((m) => /^warm start: 60 steps on 8 cached images/.test(m)), messages.join('\n'));

  const resumedMessages: string[] = [];
  const summary = await train(config, { outDir: dir, resume: true, reporter: reporter(starts, resumedMessages) });
  assert.equal(summary.steps, 3);
  assert.deepEqual(starts, [0, 0, 2], 'warm start, main loop from 0, main loop resumed from 2');
  assert.equal(resumedMessages.some((m) => m.startsWith('warm start')), false, 'the checkpoint already holds the warm start');
  assert.equal(new MetricsLog(path.join(dir, 'metrics.jsonl')).read().filter((r) => r.event === 'warm-start').length, 1);
});

test('warm-start settings are checked, each with one line that says what to give', () => {
  assert.throws(() => warmConfig({ steps: 10, images: 8, batchSize: 4, lr: 0.01, epochs: 2 }), /distill\.warmStart: unknown field "epochs"; known: steps, images, batchSize, lr/);
  assert.throws(() => warmConfig({ steps: 0, images: 8, batchSize: 4, lr: 0.01 }), /positive integer for distill\.warmStart\.steps/);
  assert.throws(() => warmConfig({ steps: 10, images: 4, batchSize: 8, lr: 0.01 }), /batchSize \(8\) exceeds distill\.warmStart\.images \(4\)/);
  assert.throws(() => warmConfig({ steps: 10, images: 8, batchSize: 4, lr: 5 }), /distill\.warmStart\.lr must be a number in \(0, 1\]/);
  assert.throws(() => warmConfig([1, 2]), /distill\.warmStart must be/);
});
