// Channel surgery on test-tiny: removing channels whose norm output is zero
// changes nothing (the hypernetwork's rows included), the planned FLOPs are
// the pruned model's, and a pruned model folder saves, loads and exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, randn, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { evalPreprocess } from '../../src/data/preprocess.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { loadBundle, saveBundle, type Bundle } from '../../src/bundle/bundle.js';
import { buildClassifier, disposeClassifier } from '../../src/eval/zeroshot.js';
import { generateClassifier } from '../../src/deploy/generate.js';
import { channelGroups, hypernetRows } from '../../src/compress/channel-groups.js';
import { pruneChannels, type KeepPlan } from '../../src/compress/channel-surgery.js';
import { planChannels } from '../../src/compress/channel-plan.js';
import { classifierCost } from '../../src/compress/flops.js';
import { perturbHead, tempDir } from '../models/helpers.js';
import { runOnnx, assertParity } from '../deploy/helpers.js';

const CLASSES = ['cat', 'dog', 'red car', 'ship'];
const TEMPLATES = ['a photo of a {}.', 'a drawing of a {}.'];

function tinyBundle(seed: number): Bundle {
  manualSeed(seed);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = new HyperClip(config);
  perturbHead(model); // generated deltas are non-zero, so misaligned head rows would show
  model.eval();
  return { dir: '/nonexistent', model, config, tokenizer, preprocess: evalPreprocess(config.image.imageSize), extra: {} };
}

function logits(bundle: Bundle, images: Tensor): number[] {
  const classifier = buildClassifier(bundle, CLASSES, TEMPLATES);
  try {
    return noGrad(() => tidy(() => bundle.model.classify(images, classifier).toArray()));
  } finally {
    disposeClassifier(classifier);
  }
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** Every third channel of every group (at least one per group) -> zero norm output; returns the plan keeping the rest. */
function silenceChannels(model: HyperClip): KeepPlan {
  const state = model.stateDict();
  const rows = hypernetRows(model);
  const keep: KeepPlan = new Map();
  noGrad(() => {
    for (const group of channelGroups(model)) {
      const removed = Array.from({ length: group.channels }, (_, c) => c).filter((c) => c % 3 === 1);
      keep.set(group.id, Array.from({ length: group.channels }, (_, c) => c).filter((c) => c % 3 !== 1));
      // Zeroing the depthwise (last) norm's scale and shift, and the head rows that generate them, zeroes the channel downstream.
      const norm = group.norms.at(-1)!;
      const row = rows.get(norm)!;
      for (const [key, offsets] of [[`${norm}.weight`, [0]], [`${norm}.bias`, [0]]] as const) {
        const values = state.get(key)!.toArray();
        for (const c of removed) values[c + offsets[0]!] = 0;
        state.get(key)!.copy_(tensor(values, [values.length]));
      }
      for (const key of ['hypernet.head.weight', 'hypernet.head.bias']) {
        const t = state.get(key)!;
        const values = t.toArray();
        const width = t.ndim === 2 ? t.size(1) : 1;
        for (const c of removed) for (const start of [row.scale, row.shift]) values.fill(0, (start + c) * width, (start + c + 1) * width);
        t.copy_(tensor(values, t.shape));
      }
    }
  });
  return keep;
}

test('channel surgery: removing zero-output channels leaves the zero-shot logits unchanged and shrinks every tensor', () => {
  const bundle = tinyBundle(21);
  const keep = silenceChannels(bundle.model);
  const images = randn([6, 3, 32, 32]);
  const before = logits(bundle, images);
  const pruned = pruneChannels(bundle.model, keep).eval();
  const after = logits({ ...bundle, model: pruned, config: pruned.config }, images);
  assert.ok(maxDiff(before, after) < 1e-4, `logits moved by ${maxDiff(before, after)}`);
  assert.ok(pruned.parameterCount() < bundle.model.parameterCount());
  const groups = channelGroups(pruned);
  assert.deepEqual(groups.map((g) => g.channels), channelGroups(bundle.model).map((g) => keep.get(g.id)!.length));
  assert.equal(pruned.hypernet!.head.weight.size(0), 2 * pruned.imageEncoder.normLayers().reduce((n, l) => n + l.channels, 0));
  assert.equal(pruned.imageProjection.weight.size(1), keep.get('head')!.length);
  assert.deepEqual(pruned.config.image.channels!.expanded!.slice(1), groups.filter((g) => g.id !== 'head').map((g) => g.channels));
});

test('channel surgery: removing live channels changes the output (the identity test above can fail)', () => {
  const bundle = tinyBundle(22);
  const images = randn([4, 3, 32, 32]);
  const keep: KeepPlan = new Map(channelGroups(bundle.model).map((g) => [g.id, Array.from({ length: g.channels }, (_, c) => c).filter((c) => c % 3 !== 1)]));
  const pruned = pruneChannels(bundle.model, keep).eval();
  assert.ok(maxDiff(logits(bundle, images), logits({ ...bundle, model: pruned, config: pruned.config }, images)) > 1e-3);
});

test('channel plan: the pruned model has the planned multiply-adds, at or under the FLOPs target', () => {
  const bundle = tinyBundle(23);
  const dense = classifierCost(bundle.model);
  const scores = new Map(channelGroups(bundle.model).map((g) => [g.id, Float32Array.from({ length: g.channels }, (_, c) => (c * 7919) % 13)]));
  for (const ratio of [0.7, 0.5]) {
    const plan = planChannels(bundle.model, scores, { flopsRatio: ratio });
    const pruned = pruneChannels(bundle.model, plan.keep);
    const cost = classifierCost(pruned);
    assert.equal(cost.macs, plan.macs, 'the linear cost model predicts the pruned arithmetic exactly');
    assert.ok(cost.macs <= ratio * dense.macs, `${cost.macs} MACs over the ${ratio} target of ${dense.macs}`);
    assert.ok(cost.macs > (ratio - 0.1) * dense.macs, `${cost.macs} MACs: pruned far past the ${ratio} target`);
    assert.ok(cost.params < dense.params);
  }
  assert.throws(() => planChannels(bundle.model, scores, { flopsRatio: 1.5 }), /expected a FLOPs ratio between 0 and 1/);
  assert.throws(() => planChannels(bundle.model, scores, { flopsRatio: 0.01 }), /cannot reach 0.01 of the FLOPs/);
});

test('a pruned model folder saves, loads to the same logits and exports a classifier with the same logits in onnxruntime', async () => {
  const bundle = tinyBundle(24);
  const scores = new Map(channelGroups(bundle.model).map((g) => [g.id, Float32Array.from({ length: g.channels }, (_, c) => (c * 31) % 17)]));
  const pruned = pruneChannels(bundle.model, planChannels(bundle.model, scores, { flopsRatio: 0.5 }).keep).eval();
  const dir = tempDir();
  saveBundle(dir, pruned, bundle.tokenizer);
  const loaded = loadBundle(dir);
  assert.deepEqual(loaded.config.image.channels, pruned.config.image.channels);
  const images = randn([3, 3, 32, 32]);
  const expected = logits({ ...bundle, model: pruned, config: pruned.config }, images);
  assert.ok(maxDiff(expected, logits(loaded, images)) < 1e-5);
  const generated = generateClassifier(loaded, { classNames: CLASSES, templates: TEMPLATES, output: 'logits' });
  const pixels = images.data() as Float32Array;
  const onnxLogits = (await runOnnx(generated.bytes, { image: { data: pixels, dims: [3, 3, 32, 32] } })).logits!;
  assertParity(onnxLogits, tensor(expected, [3, CLASSES.length]), 1e-3, 'pruned classifier in onnxruntime');
});

test('image.channels: explicit widths build the model; a wrong count or value is one readable error', () => {
  const dense = new HyperClip(resolveConfig('test-tiny'));
  const expanded = channelGroups(dense).filter((g) => g.id !== 'head').map((g) => g.channels);
  const base = resolveConfig('test-tiny');
  const narrow = new HyperClip({ ...base, image: { ...base.image, channels: { expanded: [8, ...expanded.map((c) => c / 2)], head: 8 } } });
  assert.deepEqual(channelGroups(narrow).map((g) => g.channels), [...expanded.map((c) => c / 2), 8]);
  assert.throws(() => new HyperClip({ ...base, image: { ...base.image, channels: { expanded: [8, 8] } } }), /image.channels.expanded lists 2 blocks but the encoder has 7/);
  assert.throws(() => resolveConfig({ preset: 'test-tiny', image: { channels: { head: 0 } } }), /expected a positive integer for image.channels.head but received 0/);
  assert.throws(() => resolveConfig({ preset: 'tiny-resnet-siglip', image: { channels: { head: 64 } } }), /MBConv families/);
});
