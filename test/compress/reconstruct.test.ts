// After channel surgery, the layers reading pruned channels are solved by
// least squares to reproduce the dense model (src/compress/reconstruct.ts);
// and the channel plan compares saliencies across layers as they are
// ('global') or normalised per layer ('group').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, randn, tidy, type Tensor } from '../../src/engine/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { channelGroups } from '../../src/compress/channel-groups.js';
import { pruneChannels, type KeepPlan } from '../../src/compress/channel-surgery.js';
import { macsPerChannel, planChannels } from '../../src/compress/channel-plan.js';
import { reconstructPruned } from '../../src/compress/reconstruct.js';
import { solveSpd } from '../../src/compress/spd-solve.js';
import { resolveCompressConfig } from '../../src/compress/adasap-recipe.js';
import { perturbHead } from '../models/helpers.js';

function tinyMobileNet(seed: number): HyperClip {
  manualSeed(seed);
  const config = resolveConfig({
    preset: 'test-tiny', image: { family: 'mobilenetv2', widthMultiplier: 0.35, imageSize: 32, channelsLast: false },
    hypernet: { normLayers: { lastStages: 2 } },
  });
  const model = new HyperClip(config);
  perturbHead(model);
  return model.eval();
}

/** Squared distance of two models' image embeddings, relative to the first's squared norm. */
function embeddingError(reference: HyperClip, other: HyperClip, images: Tensor): number {
  return noGrad(() => tidy(() => {
    const a = reference.encodeImage(images), b = other.encodeImage(images);
    return a.sub(b).square().sum().item() / a.square().sum().item();
  }));
}

const keepEvery = (model: HyperClip, drop: (c: number) => boolean): KeepPlan =>
  new Map(channelGroups(model).map((g) => [g.id, Array.from({ length: g.channels }, (_, c) => c).filter((c) => !drop(c))]));

test('solveSpd: solves G X = B for a symmetric positive definite G; a matrix that is not one is a readable error', () => {
  const n = 4, m = 2;
  const a = [2, 1, 0, 0.5, 1, 3, 0.2, 0, 0, 0.2, 1.5, 0.1, 0.5, 0, 0.1, 2.5]; // symmetric, diagonally dominant
  const x = [1, -2, 0.5, 3, -1, 0, 2, 1]; // [n, m]
  const b = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let k = 0; k < n; k++) b[i * m + j]! += a[i * n + k]! * x[k * m + j]!;
  const solved = solveSpd(Float64Array.from(a), n, b, m);
  solved.forEach((v, i) => assert.ok(Math.abs(v - x[i]!) < 1e-9, `x[${i}] = ${v}, expected ${x[i]}`));
  assert.throws(() => solveSpd(Float64Array.from([1, 2, 2, 1]), 2, new Float64Array(2), 1), /not positive definite/);
  assert.doesNotThrow(() => solveSpd(Float64Array.from([1, 1, 1, 1]), 2, new Float64Array(2), 1, 1e-3), 'a singular Gram solves with a shift');
});

test('reconstruction: the pruned model reproduces the dense one better on images it was not solved on', () => {
  const dense = tinyMobileNet(61);
  const pruned = pruneChannels(dense, keepEvery(dense, (c) => c % 3 === 1)).eval();
  manualSeed(62);
  const calibration = randn([48, 3, 32, 32]), heldOut = randn([12, 3, 32, 32]);
  const before = embeddingError(dense, pruned, heldOut);
  const { layers } = reconstructPruned(dense, pruned, calibration, { chunk: 16 });
  const after = embeddingError(dense, pruned, heldOut);
  assert.equal(layers.length, channelGroups(dense).length, 'every group\'s reading layer is solved');
  for (const l of layers) assert.ok(l.after <= l.before + 1e-6, `${l.name}: error ${l.before} -> ${l.after}`);
  assert.ok(after < 0.95 * before, `held-out embedding error ${before} -> ${after}`);
  assert.ok(!dense.training && !pruned.training, 'the models keep their modes');
  for (const t of [calibration, heldOut]) t.dispose();
});

test('reconstruction of a model pruned of nothing leaves its output as it was', () => {
  const dense = tinyMobileNet(63);
  const pruned = pruneChannels(dense, keepEvery(dense, () => false)).eval();
  manualSeed(64);
  const calibration = randn([32, 3, 32, 32]), heldOut = randn([8, 3, 32, 32]);
  reconstructPruned(dense, pruned, calibration);
  const error = embeddingError(dense, pruned, heldOut);
  assert.ok(error < 1e-6, `relative error ${error}`);
  for (const t of [calibration, heldOut]) t.dispose();
});

test('channel plan: a global scale keeps a layer whose channels matter most, a group scale prunes it by its cost alone', () => {
  const model = tinyMobileNet(65);
  const groups = channelGroups(model);
  const cost = macsPerChannel(model, groups);
  const dearest = groups.reduce((a, b) => (cost.get(a.id)! >= cost.get(b.id)! ? a : b)).id; // most multiply-adds per channel
  const scores = new Map(groups.map((g) => [g.id, Float32Array.from({ length: g.channels }, (_, c) => (g.id === dearest ? 1000 : 1) * (1 + (c % 5)))]));
  const global = planChannels(model, scores, { flopsRatio: 0.85, saliencyScale: 'global' });
  const group = planChannels(model, scores, { flopsRatio: 0.85, saliencyScale: 'group' });
  assert.ok(!global.keep.has(dearest), `global: ${dearest} lost ${groups.find((g) => g.id === dearest)!.channels - (global.keep.get(dearest)?.length ?? 0)} channels`);
  assert.ok(group.keep.has(dearest), `group: ${dearest} kept whole`);
  assert.throws(() => planChannels(model, scores, { flopsRatio: 0.5, saliencyScale: 'layer' as never }), /unknown saliency scale "layer": expected group, global/);
  assert.throws(() => resolveCompressConfig({ method: 'adasap', flopsRatio: 0.5, saliencyScale: 'x' as never }), /unknown saliency scale "x"/);
  assert.throws(() => resolveCompressConfig({ method: 'adasap', flopsRatio: 0.5, calibrationImages: -1 }), /non-negative integer for calibrationImages/);
});
