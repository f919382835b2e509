import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadSafetensors, manualSeed } from '../../src/engine/index.js';
import { HyperClip } from '../../src/models/index.js';
import { listRecipes, resolveTrainConfig } from '../../src/train/recipes.js';
import type { TrainReporter } from '../../src/train/reporter.js';
import { modelConfigFor, train } from '../../src/train/trainer.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { MetricsLog } from '../../src/train/metrics-log.js';

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-train-'));
after(() => rmSync(root, { recursive: true, force: true }));

class Interrupt extends Error {}

function quietReporter(stopAfter = Infinity): TrainReporter {
  return {
    start: () => undefined,
    step: (step) => { if (step >= stopAfter) throw new Interrupt(`interrupted after step ${step}`); },
    message: () => undefined,
    stop: () => undefined,
  };
}

function modelTensors(dir: string): Map<string, Float32Array> {
  const { tensors } = loadSafetensors(path.join(dir, 'checkpoint.safetensors'));
  const out = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (name.startsWith('model.') && t.dtype === 'float32') out.set(name, t.data() as Float32Array);
    t.dispose();
  }
  return out;
}

// The test-tiny recipe: 6 steps of batch 8 on real Flickr8k train shards, a checkpoint every 3 steps.
const config = resolveTrainConfig('test-tiny', undefined);

test('a run writes its config, metrics, checkpoint and model folder, and the loss is finite', async () => {
  const dir = path.join(root, 'full');
  const summary = await train(config, { outDir: dir, resume: false, reporter: quietReporter() });
  assert.equal(summary.steps, 6);
  assert.ok(Number.isFinite(summary.finalLoss));
  for (const f of ['train-config.json', 'checkpoint.safetensors', 'metrics.jsonl', 'model/config.json', 'model/model.safetensors', 'model/tokenizer.json']) {
    assert.ok(existsSync(path.join(dir, f)), `${f} exists`);
  }
  const records = new MetricsLog(path.join(dir, 'metrics.jsonl')).read();
  assert.deepEqual(records.filter((r) => r.event === 'train').map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  assert.equal(records.at(-1)!.event, 'summary');
});

test('a killed run resumed from its checkpoint reproduces the uninterrupted run', async () => {
  const dir = path.join(root, 'interrupted');
  await assert.rejects(train(config, { outDir: dir, resume: false, reporter: quietReporter(4) }), Interrupt);
  // Killed during step 4: the checkpoint holds step 3.
  const { metadata } = loadSafetensors(path.join(dir, 'checkpoint.safetensors'));
  assert.equal(metadata.step, '3');
  await train(config, { outDir: dir, resume: true, reporter: quietReporter() });
  const logged = new MetricsLog(path.join(dir, 'metrics.jsonl')).read().filter((r) => r.event === 'train' || r.event === 'resume');
  assert.deepEqual(logged.map((r) => `${r.event} ${r.step}`), ['train 1', 'train 2', 'train 3', 'resume 3', 'train 4', 'train 5', 'train 6']);
  const resumed = modelTensors(dir);
  const full = modelTensors(path.join(root, 'full'));
  assert.equal(resumed.size, full.size);
  let worst = 0;
  for (const [name, a] of full) {
    const b = resumed.get(name)!;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  assert.ok(worst < 1e-5, `resumed weights differ from the uninterrupted run by ${worst}`);
});

test('an existing run folder is refused without --resume, and with a different config', async () => {
  const dir = path.join(root, 'full');
  await assert.rejects(train(config, { outDir: dir, resume: false, reporter: quietReporter() }), /already holds a run: pass --resume/);
  await assert.rejects(train({ ...config, lr: config.lr / 2 }, { outDir: dir, resume: true, reporter: quietReporter() }), /started with a different config/);
});

test('a frozen parameter keeps its initial value while the rest trains; a freeze prefix that names nothing is one clear line', async () => {
  const frozen = { ...config, freeze: ['textEncoder.tokenEmbedding'] };
  const dir = path.join(root, 'frozen');
  await train(frozen, { outDir: dir, resume: false, reporter: quietReporter() });
  manualSeed(frozen.seed); // train() seeds, then builds the model: the same init
  const initial = new Map([...new HyperClip(modelConfigFor(frozen, Tokenizer.load(frozen.tokenizer))).namedParameters()]
    .map(([name, p]) => [`model.${name}`, p.data() as Float32Array] as const));
  const trained = modelTensors(dir);
  assert.deepEqual(trained.get('model.textEncoder.tokenEmbedding.weight'), initial.get('model.textEncoder.tokenEmbedding.weight'));
  assert.notDeepEqual(trained.get('model.textEncoder.projection.weight'), initial.get('model.textEncoder.projection.weight'), 'the rest trains');

  const typo = path.join(root, 'typo');
  await assert.rejects(train({ ...config, freeze: ['textEncoder.token'] }, { outDir: typo, resume: false, reporter: quietReporter() }),
    /freeze: no parameter is named "textEncoder.token" or starts with "textEncoder.token\."; names start with logitScale, logitBias, imageEncoder/);
  assert.equal(existsSync(typo), false, 'a bad freeze list leaves no run folder');
  assert.throws(() => resolveTrainConfig('test-tiny', undefined, { freeze: 'textEncoder' as never }), /freeze must be a list of parameter-name prefixes/);
});

test('recipes: every recipe validates, and each SigLIP recipe is its HyperCLIP twin without the hypernetwork', () => {
  const tokenizer = Tokenizer.load('flickr8k-4k');
  for (const name of listRecipes()) assert.equal(resolveTrainConfig(name, undefined).name, name);
  // A '-last1' recipe generates fewer norms than its base: its SigLIP twin is the base's, and only the hypernetwork's override differs.
  // E3's one-lever probes (docs/tower-probes.md) have no SigLIP twin: each is E3's HyperCLIP recipe with one lever changed.
  const towerProbe = /^mnv2-hyperclip-lit-(px\d+|last\d+|tuned)$/;
  const e3 = resolveTrainConfig('mnv2-hyperclip-lit', undefined);
  const probes = listRecipes().filter((n) => towerProbe.test(n));
  assert.deepEqual(probes, ['mnv2-hyperclip-lit-px128', 'mnv2-hyperclip-lit-px96', 'mnv2-hyperclip-lit-last1', 'mnv2-hyperclip-lit-last5', 'mnv2-hyperclip-lit-tuned']);
  for (const name of probes) {
    const { name: _n, modelOverrides, freeze, lrScale, ...rest } = resolveTrainConfig(name, undefined);
    const { name: _e, freeze: e3Freeze, ...e3Rest } = e3;
    assert.deepEqual(rest, e3Rest, `${name} trains as E3 does apart from its lever`);
    const levers = [modelOverrides !== undefined, lrScale !== undefined].filter(Boolean).length;
    assert.equal(levers, 1, `${name} changes one lever`);
    if (lrScale !== undefined) assert.ok(freeze!.every((f) => e3Freeze!.includes(f) || f.startsWith('imageEncoder.')), 'only the image encoder is unlocked, in part');
    else assert.deepEqual(freeze, e3Freeze);
  }
  const pairs = listRecipes().filter((n) => n.includes('hyperclip') && !towerProbe.test(n)).map((n) => [n, n.replace('hyperclip', 'siglip').replace(/-last1$/, '')] as const);
  assert.ok(pairs.length >= 3, 'tiny, tiny-c100 and tiny-resnet pairs');
  for (const [hyper, siglip] of pairs) {
    const full = resolveTrainConfig(hyper, undefined);
    const { modelOverrides, ...rest } = full;
    if (hyper.endsWith('-last1')) assert.deepEqual(modelOverrides, { hypernet: { normLayers: { lastStages: 1 } } });
    const h = hyper.endsWith('-last1') ? rest as typeof full : full;
    const s = resolveTrainConfig(siglip, undefined);
    assert.deepEqual({ ...h, name: '', model: '' }, { ...s, name: '', model: '' }, `${hyper} and ${siglip} train alike`);
    const hm = modelConfigFor(h, tokenizer);
    const sm = modelConfigFor(s, tokenizer);
    assert.notEqual(hm.hypernet, null);
    assert.deepEqual({ ...hm, name: '', hypernet: null }, { ...sm, name: '' }, `${hyper} and ${siglip} share every encoder`);
  }
  assert.equal(modelConfigFor(resolveTrainConfig('tiny-resnet-hyperclip', undefined), tokenizer).image.family, 'resnet');
});

test('recipes: unknown names, bad values and unreadable config files are one clear line', () => {
  assert.throws(() => resolveTrainConfig('nope', undefined), /unknown preset "nope"; known: tiny-hyperclip, tiny-siglip/);
  assert.throws(() => resolveTrainConfig('test-tiny', undefined, { lr: -1 }), /expected lr between 0 and 1 but received -1/);
  assert.throws(() => resolveTrainConfig('test-tiny', undefined, { batchSize: 0 }), /positive integer for batchSize/);
  const bad = path.join(root, 'bad.json');
  writeFileSync(bad, '{ not json');
  assert.throws(() => resolveTrainConfig(undefined, bad), /bad.json is not valid JSON/);
  assert.throws(() => resolveTrainConfig(undefined, path.join(root, 'missing.json')), /config file not found/);
  const partial = path.join(root, 'partial.json');
  writeFileSync(partial, JSON.stringify({ preset: 'test-tiny', steps: 4 }));
  assert.equal(resolveTrainConfig(undefined, partial).steps, 4);
  const typo = path.join(root, 'typo.json');
  writeFileSync(typo, JSON.stringify({ preset: 'test-tiny', step: 4 }));
  assert.throws(() => resolveTrainConfig(undefined, typo), /typo.json: unknown train config field "step"; known: preset, name, model, modelOverrides, freeze, tokenizer/);
  assert.ok(readFileSync(partial, 'utf8').includes('test-tiny'));
});

test('recipes: modelOverrides change the preset, and a bad override is one clear line before any run starts', () => {
  const file = (name: string, body: unknown): string => {
    const f = path.join(root, name);
    writeFileSync(f, JSON.stringify(body));
    return f;
  };
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const clip = resolveTrainConfig(undefined, file('clip.json', { preset: 'tiny-siglip', modelOverrides: { loss: { kind: 'clip' }, text: { layers: 2 } } }));
  const model = modelConfigFor(clip, tokenizer);
  assert.equal(model.loss.kind, 'clip');
  assert.equal(model.text.layers, 2);
  assert.equal(model.text.vocabSize, tokenizer.vocabSize, 'the tokenizer still sets the vocabulary');
  assert.equal(modelConfigFor(resolveTrainConfig('tiny-siglip', undefined), tokenizer).loss.kind, 'siglip');
  assert.throws(() => resolveTrainConfig(undefined, file('unknown.json', { preset: 'tiny-siglip', modelOverrides: { loss: { knd: 'clip' } } })),
    /model of recipe tiny-siglip: unknown config field loss\.knd/);
  assert.throws(() => resolveTrainConfig(undefined, file('list.json', { preset: 'tiny-siglip', modelOverrides: [1] })), /modelOverrides must be an object/);
  assert.throws(() => resolveTrainConfig(undefined, file('model.json', { preset: 'tiny-siglip', model: 'no-such-model' })), /unknown model preset "no-such-model"/);
});
