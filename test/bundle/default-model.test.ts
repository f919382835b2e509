import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDataset } from '../../src/data/index.js';
import { defaultModelDir, loadBundle } from '../../src/bundle/bundle.js';
import { evaluateZeroShot } from '../../src/eval/zeroshot.js';

// The shipped model (models/default) on a seeded sample of real CIFAR-10 test
// images. Its full-test-set top-1 is 42.27% (models/default/MODEL_CARD.md).
// The floor sits 15 points above chance and about 6 standard errors of a
// 300-image sample under the full-set figure: a model that guesses, answers
// one class for everything, or lost its trained weights (an untrained text
// side scores near 10%) fails it; numeric noise between machines does not.
const SAMPLE = 300;
const FLOOR = 0.25;

test('the shipped default model loads and classifies real CIFAR-10 test images', async () => {
  const bundle = loadBundle(defaultModelDir());
  assert.equal(bundle.config.hypernet === null, false, 'the default is a HyperCLIP model');
  const c10 = resolveDataset('cifar10', 'test');
  const caption = c10.caption as { kind: 'label'; classnames: string[]; templates: string[] };
  const result = await evaluateZeroShot(bundle, { shards: c10.shards, caption }, caption.classnames, caption.templates, { limit: SAMPLE, workers: 0 });
  bundle.model.dispose();
  console.log(`default model: cifar10 zero-shot top-1 ${(100 * result.top1).toFixed(1)}% on ${result.samples} sampled test images`);
  assert.equal(result.samples, SAMPLE);
  assert.ok(result.top1 >= FLOOR, `top-1 ${result.top1} is below ${FLOOR}`);
});
