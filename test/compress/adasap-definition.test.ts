// What makes AdaSAP AdaSAP, on tiny models built here: the saliency-to-radius
// mapping gives the important channels the smaller SAM perturbation (the
// unimportant ones, about to be pruned, the larger), both as numbers and in
// the nudge a step actually applies; and the channel plan removes the least
// salient channels of each group, the cheapest first. Each test fails when
// the mapping's sign or the plan's order is flipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, tidy, type Tensor } from '../../src/engine/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { channelGroups, type ChannelGroup } from '../../src/compress/channel-groups.js';
import { ChannelRadii, radiusBySaliency } from '../../src/compress/channel-radii.js';
import { macsPerChannel, planChannels } from '../../src/compress/channel-plan.js';
import { classifierCost } from '../../src/compress/flops.js';
import { perturbationOf } from '../../src/compress/sam.js';
import { perturbHead, randomBatch } from '../models/helpers.js';

const RHO = 0.05, RHO_MIN = 0.01, RHO_MAX = 0.1;

/** A permutation of 0..n-1 as saliency (37 is prime to every width here), so every channel has its own rank. */
const permutedSaliency = (n: number, step = 37): Float32Array => Float32Array.from({ length: n }, (_, c) => (c * step) % n);

function tinyModel(seed: number): HyperClip {
  manualSeed(seed);
  const model = new HyperClip(resolveConfig('test-tiny')).train();
  perturbHead(model);
  return model;
}

test('radius by saliency: the most salient channel gets rhoMin, the least rhoMax, and the radius falls as saliency rises', () => {
  const saliency = [0.3, 4.0, 1.5, 0.01, 2.2, 0.9];
  const radius = radiusBySaliency(saliency, RHO_MIN, RHO_MAX);
  assert.ok(Math.abs(radius[1]! - RHO_MIN) < 1e-7, `most salient channel: radius ${radius[1]}, expected rhoMin ${RHO_MIN}`);
  assert.ok(Math.abs(radius[3]! - RHO_MAX) < 1e-7, `least salient channel: radius ${radius[3]}, expected rhoMax ${RHO_MAX}`);
  for (let a = 0; a < saliency.length; a++) for (let b = 0; b < saliency.length; b++) {
    if (saliency[a]! > saliency[b]!) assert.ok(radius[a]! < radius[b]!, `channel ${a} (saliency ${saliency[a]}) got radius ${radius[a]}, not below channel ${b}'s ${radius[b]} (saliency ${saliency[b]})`);
  }
  // Linear in the rank: six channels, five equal steps from rhoMax down to rhoMin.
  const byRank = [3, 0, 5, 2, 4, 1].map((c) => radius[c]!);
  byRank.forEach((r, rank) => assert.ok(Math.abs(r - (RHO_MAX - (RHO_MAX - RHO_MIN) * rank / 5)) < 1e-7, `rank ${rank}: ${r}`));
  assert.deepEqual([...radiusBySaliency([7], RHO_MIN, RHO_MAX)].map((r) => Number(r.toFixed(6))), [RHO_MIN], 'a lone channel is the group\'s most important');
});

test('AdaSAP nudge: a salient channel is perturbed less than plain SAM would, an unimportant one more, in every tensor of its group', () => {
  const model = tinyModel(41);
  const { images, ids } = randomBatch(model.config, 8);
  tidy(() => model.trainingLoss(images, ids).backward());
  const params: [string, Tensor][] = [...model.namedParameters()];
  const groups = channelGroups(model);
  const group: ChannelGroup = groups.find((g) => g.id === 'blocks.3')!;
  const scores = new Map(groups.map((g) => [g.id, permutedSaliency(g.channels)]));
  const radii = new ChannelRadii(model, groups, { rho: RHO, rhoMin: RHO_MIN, rhoMax: RHO_MAX });
  radii.update(scores);
  const plain = perturbationOf(params, { kind: 'sam', rho: RHO });
  const adaptive = perturbationOf(params, { kind: 'channel', rho: RHO, multipliers: radii.multipliers });
  const saliency = scores.get(group.id)!;
  const most = saliency.indexOf(group.channels - 1), least = saliency.indexOf(0);
  let checked = 0;
  for (const { key, dim } of group.slices) {
    const i = params.findIndex(([name]) => name === key);
    if (i < 0) continue; // running statistics: buffers, never perturbed
    const shape = params[i]![1].shape;
    const [p, a] = [plain[i]!.toArray(), adaptive[i]!.toArray()];
    // The channel of flat element j along dimension dim.
    const inner = shape.slice(dim + 1).reduce((x, y) => x * y, 1);
    const channelOf = (j: number): number => Math.floor(j / inner) % shape[dim]!;
    const ratio = (channel: number): number => {
      const j = p.findIndex((v, k) => channelOf(k) === channel && Math.abs(v) > 1e-12);
      assert.ok(j >= 0, `${key}: no gradient on channel ${channel}`);
      return a[j]! / p[j]!;
    };
    // eps_adaptive / eps_sam = radius / rho on each channel: rhoMin / rho < 1 for the most salient, rhoMax / rho > 1 for the least.
    assert.ok(Math.abs(ratio(most) - RHO_MIN / RHO) < 1e-4, `${key}: most salient channel ${most} nudged ${ratio(most)} x SAM, expected ${RHO_MIN / RHO}`);
    assert.ok(Math.abs(ratio(least) - RHO_MAX / RHO) < 1e-4, `${key}: least salient channel ${least} nudged ${ratio(least)} x SAM, expected ${RHO_MAX / RHO}`);
    checked++;
  }
  assert.ok(checked >= 6, `checked ${checked} perturbed tensors of ${group.id}`);
  radii.dispose();
  for (const t of [...plain, ...adaptive]) t?.dispose();
});

test('channel plan: in every group, each removed channel is less salient than each kept one', () => {
  const model = tinyModel(42);
  const groups = channelGroups(model);
  const scores = new Map(groups.map((g, k) => [g.id, permutedSaliency(g.channels, k % 2 === 0 ? 37 : 41)]));
  for (const [flopsRatio, granularity] of [[0.7, 8], [0.5, 8], [0.6, 1]] as const) {
    const plan = planChannels(model, scores, { flopsRatio, granularity });
    assert.ok(plan.keep.size > 0, `${flopsRatio}: nothing pruned`);
    for (const [id, kept] of plan.keep) {
      const saliency = scores.get(id)!;
      const keptSet = new Set(kept);
      const removed = Array.from({ length: saliency.length }, (_, c) => c).filter((c) => !keptSet.has(c));
      assert.ok(removed.length > 0 && kept.length > 0, `${id}: ${removed.length} removed, ${kept.length} kept`);
      const mostSalientRemoved = Math.max(...removed.map((c) => saliency[c]!));
      const leastSalientKept = Math.min(...kept.map((c) => saliency[c]!));
      assert.ok(mostSalientRemoved < leastSalientKept,
        `${flopsRatio}, ${id}: removed a channel of saliency ${mostSalientRemoved} but kept one of ${leastSalientKept}`);
    }
  }
});

test('channel plan: channels with no saliency go first, and nothing else goes when removing them reaches the target', () => {
  const model = tinyModel(43);
  const groups = channelGroups(model);
  const dead = [3, 17, 40, 41, 77, 100, 120, 143]; // one unit (granularity 8) of blocks.4's 144 channels
  const scores = new Map(groups.map((g) => [g.id, Float32Array.from({ length: g.channels }, (_, c) => 1 + ((c * 37) % g.channels) / g.channels)]));
  const target = scores.get('blocks.4')!;
  for (const c of dead) target[c] = 0;
  const dense = classifierCost(model).macs;
  const perChannel = macsPerChannel(model, groups).get('blocks.4')!;
  const plan = planChannels(model, scores, { flopsRatio: (dense - dead.length * perChannel + 0.5) / dense, granularity: 8 });
  assert.deepEqual([...plan.keep.keys()], ['blocks.4'], 'only the group holding the unused channels is pruned');
  const kept = new Set(plan.keep.get('blocks.4'));
  assert.deepEqual(Array.from({ length: 144 }, (_, c) => c).filter((c) => !kept.has(c)), dead);
});
