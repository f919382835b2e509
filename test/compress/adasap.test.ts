// SAM, ASAM and AdaSAP's channel radii as perturbations, one optimisation
// step that puts the weights back, and `hyperclip compress` end to end on a
// test-tiny model folder trained by the test-tiny recipe's mixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AdamW, manualSeed, noGrad, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { loadBundle } from '../../src/bundle/bundle.js';
import { optimizationStep, perturbationOf } from '../../src/compress/sam.js';
import { classifierCost } from '../../src/compress/flops.js';
import { resolveCompressConfig } from '../../src/compress/adasap-recipe.js';
import { perturbHead, randomBatch, tempDir } from '../models/helpers.js';
import { hyperclip, tinyFolder } from './helpers.js';

function withGradients(): { model: HyperClip; params: [string, Tensor][] } {
  manualSeed(31);
  const model = new HyperClip(resolveConfig('test-tiny')).train();
  perturbHead(model);
  const { images, ids } = randomBatch(model.config, 8);
  tidy(() => model.trainingLoss(images, ids).backward());
  return { model, params: [...model.namedParameters()] };
}

const sumSquares = (ts: (Tensor | null)[], f: (t: Tensor, i: number) => Tensor = (t) => t) =>
  ts.reduce((s, t, i) => s + (t === null ? 0 : noGrad(() => tidy(() => f(t, i).square().sum().item()))), 0);

test('SAM nudges by exactly rho along the gradient; ASAM by rho in the |w|+eta metric', () => {
  const { params } = withGradients();
  const sam = perturbationOf(params, { kind: 'sam', rho: 0.05 });
  assert.ok(Math.abs(Math.sqrt(sumSquares(sam)) - 0.05) < 1e-5);
  const asam = perturbationOf(params, { kind: 'asam', rho: 0.5, eta: 0.01 });
  const scaledNorm = Math.sqrt(sumSquares(asam, (e, i) => e.div(params[i]![1].abs().add(0.01))));
  assert.ok(Math.abs(scaledNorm - 0.5) < 1e-4, `||T^-1 eps|| = ${scaledNorm}`);
  const g = params[0]![1].grad!;
  const cosine = noGrad(() => tidy(() => asam[0]!.mul(g).sum().item())) > 0;
  assert.ok(cosine, 'ASAM moves uphill');
});

test('channel radii: a channel with multiplier 3 moves three times as far as one with 1', () => {
  const { params } = withGradients();
  const key = 'imageEncoder.blocks.1.depthwise.norm.weight';
  const weight = params.find(([n]) => n === key)![1];
  const multipliers = new Map([[key, tensor(Array.from({ length: weight.numel }, (_, c) => (c === 0 ? 3 : 1)), [weight.numel])]]);
  const plain = perturbationOf(params, { kind: 'sam', rho: 0.05 });
  const adaptive = perturbationOf(params, { kind: 'channel', rho: 0.05, multipliers });
  const i = params.findIndex(([n]) => n === key);
  const [p0, a0] = [plain[i]!.toArray(), adaptive[i]!.toArray()];
  const ratio0 = a0[0]! / p0[0]!, ratio1 = a0[1]! / p0[1]!;
  assert.ok(Math.abs(ratio0 / ratio1 - 3) < 1e-3, `ratios ${ratio0}, ${ratio1}`);
});

test('a SAM step with learning rate 0 leaves every weight where it was (the nudge is taken back)', () => {
  const tokenizer = Tokenizer.load('flickr8k-4k');
  manualSeed(32);
  const model = new HyperClip(resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } })).train();
  perturbHead(model);
  const snapshot = new Map([...model.namedParameters()].map(([n, t]) => [n, t.toArray()]));
  const optimizer = new AdamW(model.parameters(), { lr: 0, weightDecay: 0 });
  const images = new Float32Array(8 * 3 * 32 * 32).map((_, i) => Math.sin(i));
  const captions = ['a dog', 'a cat', 'a red car', 'a ship', 'two dogs', 'a bird', 'a tree', 'a man'];
  const batch = { images, size: 8, height: 32, width: 32, captions, labels: null, sources: new Int32Array(8), keys: [] };
  const result = optimizationStep({ model, optimizer, tokenizer, params: [...model.namedParameters()], gradClip: 1 }, batch, { kind: 'sam', rho: 0.05 });
  assert.ok(Number.isFinite(result.loss) && result.perturbedLoss !== null && result.perturbedLoss !== result.loss, 'the second pass sees other weights');
  for (const [n, t] of model.namedParameters()) assert.deepEqual(t.toArray(), snapshot.get(n), `${n} moved`);
});

test('compress settings: bad ratios, methods and radii are one message each', () => {
  assert.throws(() => resolveCompressConfig({ method: 'adasap', flopsRatio: 1.2 }), /expected a FLOPs ratio between 0 and 1/);
  assert.throws(() => resolveCompressConfig({ method: 'adasap', flopsRatio: 0 }), /expected a FLOPs ratio between 0 and 1/);
  assert.throws(() => resolveCompressConfig({ method: 'magic' as never, flopsRatio: 0.5 }), /unknown compression method "magic": expected adasap, prune-finetune, sam/);
  assert.throws(() => resolveCompressConfig({ method: 'sam', flopsRatio: 0.5, rhoMin: 0.2, rhoMax: 0.1 }), /rhoMin/);
});

test('hyperclip compress: a smaller model folder at the FLOPs target that loads and evaluates; bad input is one line', () => {
  const dir = tinyFolder();
  const out = path.join(tempDir(), 'adasap');
  const run = hyperclip('compress', '--model', dir, '--method', 'adasap', '--flops', '0.6', '--steps-warmup', '3', '--steps-finetune', '2', '--batch-size', '8', '--out', out);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout.trim(), /^compressed .* with adasap to 0\.\d{3} of the FLOPs \(.*\) in \d+ s; model in .*adasap$/);
  assert.match(run.stderr, /warm-up 3\/3/);
  const pruned = loadBundle(out);
  const dense = loadBundle(dir);
  assert.ok(classifierCost(pruned.model).macs <= 0.6 * classifierCost(dense.model).macs);
  assert.equal((pruned.extra.compress as { method: string }).method, 'adasap');
  const evaluated = hyperclip('eval', '--model', out, '--dataset', 'cifar10', '--limit', '8');
  assert.equal(evaluated.status, 0, evaluated.stderr);

  for (const [args, message] of [
    [['--flops', '1.5'], /expected a FLOPs ratio between 0 and 1/],
    [['--flops', '0.5', '--method', 'magic'], /unknown compression method "magic"/],
    [['--flops', '0.5', '--model', tinyFolder('resnet')], /has no prunable channel groups/],
    [['--flops', '0.5', '--out', out], /already holds a model/],
  ] as const) {
    const bad = hyperclip('compress', '--model', dir, '--out', path.join(tempDir(), 'x'), '--steps-warmup', '1', '--steps-finetune', '1', '--batch-size', '8', ...args);
    assert.equal(bad.status, 1, `${args.join(' ')}: ${bad.stderr}`);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, message);
  }
});
