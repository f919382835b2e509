// The unit class vectors fitted to a teacher in a fixed embedding space
// (src/train/class-vector-fit.ts): on synthetic data whose teacher is a
// known set of directions, the fit finds them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, manualSeed, noGrad, randn, tidy, type Tensor } from '../../src/engine/index.js';
import { fitClassVectors } from '../../src/train/class-vector-fit.js';

function teacherData(classes: number, width: number, images: number, scale: number) {
  manualSeed(3);
  const truth = F.normalize(randn([classes, width]), -1);
  const labels = Array.from({ length: images }, (_, i) => i % classes);
  const embeddings = noGrad(() => tidy(() => F.normalize(F.cat(labels.map((l) => truth.narrow(0, l, 1))).add(randn([images, width]).mul(0.3)), -1)));
  const teacherLogits = noGrad(() => embeddings.matmul(truth.transpose(0, 1)).mul(scale));
  return { truth, embeddings, teacherLogits, start: F.normalize(randn([classes, width]), -1) };
}

const meanRowCosine = (a: Tensor, b: Tensor) => noGrad(() => a.mul(b).sum(1).mean().item());

test('at the teacher\'s own scale the fit recovers the teacher\'s class directions from a random start', () => {
  const { truth, embeddings, teacherLogits, start } = teacherData(5, 8, 200, 10);
  assert.ok(meanRowCosine(start, truth) < 0.5, 'the start is far from the truth');
  const fit = fitClassVectors(embeddings, teacherLogits, start, { temperature: 1, scale: 10, learnScale: false, steps: 300, lr: 0.05 });
  assert.ok(fit.loss < fit.initialLoss);
  assert.ok(meanRowCosine(fit.vectors, truth) > 0.85, `mean cosine to the truth ${meanRowCosine(fit.vectors, truth)}`);
  assert.ok(Math.abs(fit.scale - 10) < 1e-4, 'a fixed scale stays');
  const norms = Array.from(noGrad(() => fit.vectors.mul(fit.vectors).sum(1)).toArray(), Number);
  for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-5, 'unit rows');
  const agree = noGrad(() => embeddings.matmul(fit.vectors.transpose(0, 1)).argmax(1).eq(teacherLogits.argmax(1)).to('float32').mean().item());
  assert.ok(agree > 0.97, `agreement with the teacher's top class ${agree}`);
});

test('a learned scale climbs from too low a start towards the teacher\'s sharpness; a fixed one cannot', () => {
  const { embeddings, teacherLogits, truth } = teacherData(5, 8, 200, 20);
  const fixed = fitClassVectors(embeddings, teacherLogits, truth, { temperature: 1, scale: 2, learnScale: false, steps: 200, lr: 0.05 });
  const learned = fitClassVectors(embeddings, teacherLogits, truth, { temperature: 1, scale: 2, learnScale: true, steps: 200, lr: 0.05 });
  assert.ok(learned.scale > 5, `learned scale ${learned.scale}`);
  assert.ok(learned.loss < fixed.loss, `${learned.loss} with the scale learned, ${fixed.loss} without`);
});

test('mismatched shapes and bad settings are refused with the expected shape', () => {
  const { embeddings, teacherLogits, start } = teacherData(5, 8, 20, 10);
  assert.throws(() => fitClassVectors(embeddings, teacherLogits.narrow(0, 0, 10), start, { temperature: 1, scale: 10, learnScale: false, steps: 5 }), /must be \[N, E\] and \[N, K\]/);
  assert.throws(() => fitClassVectors(embeddings, teacherLogits, start.narrow(0, 0, 4), { temperature: 1, scale: 10, learnScale: false, steps: 5 }), /must be \[5, 8\]/);
  assert.throws(() => fitClassVectors(embeddings, teacherLogits, start, { temperature: 0, scale: 10, learnScale: false, steps: 5 }), /temperature and scale must be positive/);
  assert.throws(() => fitClassVectors(embeddings, teacherLogits, start, { temperature: 1, scale: 10, learnScale: false, steps: 0 }), /steps a positive integer/);
});
