// Tuning the text encoder towards fixed target vectors
// (src/train/text-target-tuning.ts), on a tiny model: prompts move towards
// their targets, the keep term holds captions where they were, frozen parts
// stay, and bad input is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AdamW, F, manualSeed, noGrad, randn, type Tensor } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { encodeTexts } from '../../src/eval/text-features.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { trainableParameters } from '../../src/train/param-groups.js';
import { checkTextTargets, tuneTextTowardTargets, type TextTargetTuningConfig } from '../../src/train/text-target-tuning.js';
import { maxAbsDiff, tinyModel } from '../models/helpers.js';

const tokenizer = Tokenizer.load('wordnet-8k');
const NAMES = [['cat'], ['dog', 'puppy'], ['car'], ['truck'], ['ship', 'boat'], ['frog']];
const TEMPLATES = ['a photo of a {}.', 'a drawing of a {}.'];
const CAPTIONS = ['a man rides a bike down a hill', 'two children play in the sand', 'a black dog runs on the grass', 'a woman reads a book on a bench'];
const FROZEN = ['imageEncoder', 'imageProjection', 'hypernet', 'logitScale', 'logitBias', 'textEncoder.tokenEmbedding'];

function setup(seed = 0) {
  const { model } = tinyModel({ text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken } }, seed);
  model.eval();
  manualSeed(seed + 11);
  const vectors = F.normalize(randn([NAMES.length, model.config.embedDim]), -1);
  const captionEmbeddings = encodeTexts(model, tokenizer, CAPTIONS);
  const optimizer = new AdamW(trainableParameters(model, FROZEN).map(([, p]) => p), { lr: 1e-3, weightDecay: 0 });
  return { model, targets: { names: NAMES, templates: TEMPLATES, vectors, captions: CAPTIONS, captionEmbeddings }, optimizer };
}

const config = (over: Partial<TextTargetTuningConfig> = {}): TextTargetTuningConfig =>
  ({ objective: 'cosine', steps: 40, classesPerStep: 6, captionsPerStep: 4, keepWeight: 1, lr: 3e-3, gradClip: 1, seed: 0, ...over });

const promptCosine = (model: ReturnType<typeof setup>['model'], vectors: Tensor) => {
  const prompts = NAMES.map((n) => TEMPLATES[0]!.replace('{}', n[0]!));
  return noGrad(() => encodeTexts(model, tokenizer, prompts).mul(vectors).sum(1).mean().item());
};

test('prompts move towards their class targets while the frozen parts stay as they were', () => {
  const { model, targets, optimizer } = setup();
  const before = promptCosine(model, targets.vectors);
  const hypernetBefore = noGrad(() => model.hypernet!.parameters()[0]!.clone());
  const projectionBefore = noGrad(() => model.imageProjection.weight.clone());
  const history = tuneTextTowardTargets(model, tokenizer, targets, config({ captionsPerStep: 0 }), optimizer);
  assert.equal(history.length, 40);
  const after = promptCosine(model, targets.vectors);
  assert.ok(after > before + 0.3, `prompt-target cosine ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  assert.ok(history.at(-1)!.loss < history[0]!.loss);
  assert.ok(Number.isNaN(history[0]!.keptCosine), 'no keep term: nothing measured');
  assert.equal(maxAbsDiff(hypernetBefore, model.hypernet!.parameters()[0]!), 0);
  assert.equal(maxAbsDiff(projectionBefore, model.imageProjection.weight), 0);
});

test('the keep term holds the captions nearer where the model had them', () => {
  const keptAfter = (keepWeight: number) => {
    const { model, targets, optimizer } = setup();
    tuneTextTowardTargets(model, tokenizer, targets, config({ keepWeight }), optimizer);
    return noGrad(() => encodeTexts(model, tokenizer, CAPTIONS).mul(targets.captionEmbeddings).sum(1).mean().item());
  };
  const free = keptAfter(0), kept = keptAfter(5);
  assert.ok(kept > free, `captions' cosine to before: ${kept.toFixed(4)} kept, ${free.toFixed(4)} free`);
});

test('the distill objective makes the prompts reproduce a teacher on cached image embeddings', () => {
  const { model, targets, optimizer } = setup();
  manualSeed(5);
  const embeddings = F.normalize(randn([64, model.config.embedDim]), -1);
  const teacher = { embeddings, logits: noGrad(() => embeddings.matmul(targets.vectors.transpose(0, 1)).mul(20)), scale: 20, temperature: 1, imagesPerStep: 16 };
  const history = tuneTextTowardTargets(model, tokenizer, { ...targets, teacher }, config({ objective: 'distill', steps: 60, classesPerStep: 4, captionsPerStep: 0 }), optimizer);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(history.slice(0, 10).map((h) => h.distillLoss)), last = mean(history.slice(-10).map((h) => h.distillLoss));
  assert.ok(last < first - 0.1, `distillation loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(history.every((h) => Number.isFinite(h.targetCosine)), 'the cosine to the vectors is still reported');
  const { model: other, targets: t2 } = setup(1);
  assert.throws(() => checkTextTargets(other, t2, config({ objective: 'distill' })), /the distill objective needs cached image embeddings/);
  assert.throws(() => checkTextTargets(other, { ...t2, teacher: { ...teacher, logits: teacher.logits.narrow(1, 0, 5) } }, config({ objective: 'distill' })), /must be \[N, \d+\] and \[N, 6\]/);
  assert.throws(() => checkTextTargets(other, { ...t2, teacher: { ...teacher, imagesPerStep: 65 } }, config({ objective: 'distill' })), /65 images per step from 64 cached images/);
});

test('bad targets and settings are refused with what to fix', () => {
  const { model, targets } = setup();
  const check = (over: object, c = config()) => () => checkTextTargets(model, { ...targets, ...over }, c);
  assert.throws(check({ names: [] }), /no target classes/);
  assert.throws(check({ names: [['cat'], [], ...NAMES.slice(2)] }), /target class 1 has no name/);
  assert.throws(check({ templates: ['a photo'] }), /templates must be a non-empty list of strings with \{\}/);
  assert.throws(check({ vectors: targets.vectors.narrow(0, 0, 3) }), /must be \[6, \d+\]/);
  assert.throws(check({}, config({ classesPerStep: 7 })), /7 classes per step but only 6 target classes/);
  assert.throws(check({}, config({ lr: 0 })), /lr must be positive/);
  assert.throws(check({ captions: [], captionEmbeddings: targets.captionEmbeddings.narrow(0, 0, 0) }), /no captions to keep/);
});

test('a run resumed from its checkpoint ends where the straight run ends', () => {
  const steps = config({ steps: 6 });
  const straight = setup();
  const reference = tuneTextTowardTargets(straight.model, tokenizer, straight.targets, steps, straight.optimizer);
  const dir = mkdtempSync(path.join(tmpdir(), 'text-target-resume-'));
  try {
    const file = path.join(dir, 'checkpoint.safetensors');
    const killed = setup();
    tuneTextTowardTargets(killed.model, tokenizer, killed.targets, steps, killed.optimizer, (s) => {
      if (s.step === 3) saveCheckpoint(file, killed.model, killed.optimizer, { step: 3, dataState: null, extra: {} });
    });
    const resumed = setup();
    assert.equal(loadCheckpoint(file, resumed.model, resumed.optimizer).step, 3);
    const rest = tuneTextTowardTargets(resumed.model, tokenizer, resumed.targets, steps, resumed.optimizer, () => {}, 3);
    assert.deepEqual(rest.map((s) => s.step), [4, 5, 6]);
    assert.deepEqual(rest.map((s) => s.loss), reference.slice(3).map((s) => s.loss), 'the same draws and the same updates');
    for (const [name, p] of straight.model.namedParameters()) {
      assert.equal(maxAbsDiff(p, new Map(resumed.model.namedParameters()).get(name)!), 0, name);
    }
    assert.throws(() => tuneTextTowardTargets(resumed.model, tokenizer, resumed.targets, steps, resumed.optimizer, () => {}, 7), /cannot resume after step 7 of 6/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
