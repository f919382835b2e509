// The frozen prefix's feature cache: stored features equal freshly computed
// ones (to float16), a damaged chunk is recomputed, another key is refused,
// and a later run reads what an earlier one wrote and trains exactly alike.
// The smallest pretrained tower (v1 0.25, 0.46M weights) at 32 px, a tiny
// text side, a few real Flickr8k images.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { noGrad, tensor } from '../../src/engine/index.js';
import { createLoader, resolveDataset, trainPreprocess, type Batch } from '../../src/data/index.js';
import { frozenPrefixBlocks } from '../../src/train/frozen-prefix.js';
import { initFromRun } from '../../src/train/init-from-run.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { trainableParameters } from '../../src/train/param-groups.js';
import { openPrefixCache, type PrefixCache } from '../../src/train/prefix-cache.js';
import { cacheablePrefixShape, prefixCacheFolder, prefixCacheKey } from '../../src/train/prefix-cache-key.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import { silentReporter } from '../../src/train/reporter.js';
import { train } from '../../src/train/trainer.js';
import { maxAbsDiff, tinyModel } from '../models/helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-prefix-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

const MOBILENET = { image: { family: 'mobilenetv1' as const, widthMultiplier: 0.25, imageSize: 32 }, hypernet: { normLayers: { lastStages: 1 } } };
const TOWER = 'pretrained:mobilenet_v1_0.25_128_quant';
const preprocess = trainPreprocess(32);
const flickr = { ...resolveDataset('flickr8k', 'val'), name: 'flickr8k:val' };

function frozenModel() {
  const { model } = tinyModel(MOBILENET);
  initFromRun(model, { from: TOWER, parts: ['imageEncoder'] });
  trainableParameters(model, ['imageEncoder']);
  return { model: model.train(), blocks: frozenPrefixBlocks(model)! };
}

async function firstBatch(cache: PrefixCache): Promise<Batch> {
  const loader = createLoader({ sources: [flickr], batchSize: 4, preprocess, shuffle: false, workers: 0, views: cache.fixedViews });
  try {
    return (await loader.next())!;
  } finally {
    await loader.close();
  }
}

test('stored features equal freshly computed ones to float16; a later opening reads them without decoding; a truncated chunk is recomputed', async () => {
  const { model, blocks } = frozenModel();
  assert.ok(blocks > 0);
  const dir = path.join(root, 'equal');
  const cache = openPrefixCache({ views: 2, dir }, model, blocks, { preprocess, initFrom: TOWER });
  const cold = await firstBatch(cache);
  assert.ok(cold.views!.stored.every((s) => s === null), 'an empty cache: every view is decoded');
  const fresh = noGrad(() => model.imageEncoder.forwardPrefix(tensor(cold.images, [4, 3, 32, 32]), blocks)); // float32
  const computed = cache.prefix(model, cold).prefix;
  const tolerance = 1e-3 * fresh.abs().amax().item(); // float16 keeps 11 significant bits
  assert.ok(fresh.abs().amax().item() > 0.1, 'activations in float16\'s range');
  assert.deepEqual(computed.shape, fresh.shape);
  assert.ok(maxAbsDiff(computed, fresh) <= tolerance, `computed ${maxAbsDiff(computed, fresh)} > ${tolerance}`);
  cache.close();

  const again = openPrefixCache({ views: 2, dir }, model, blocks, { preprocess, initFrom: TOWER });
  assert.equal(again.store.stats.found, 4);
  const warm = await firstBatch(again);
  assert.deepEqual(warm.views!.ids, cold.views!.ids);
  assert.ok(warm.views!.stored.every((s) => s !== null), 'every view is stored');
  assert.equal(warm.images.length, 0, 'nothing decoded');
  const read = again.prefix(model, warm).prefix;
  assert.equal(maxAbsDiff(read, computed), 0, 'read back exactly as computed');
  assert.ok(maxAbsDiff(read, fresh) <= tolerance);
  again.close();

  const [chunk] = readdirSync(dir).filter((f) => f.endsWith('.chunk'));
  truncateSync(path.join(dir, chunk!), 1000);
  const damaged = openPrefixCache({ views: 2, dir }, model, blocks, { preprocess, initFrom: TOWER });
  assert.deepEqual([damaged.store.stats.damagedChunks, damaged.store.stats.found], [1, 0]);
  const redo = await firstBatch(damaged);
  assert.ok(redo.views!.stored.every((s) => s === null), 'decoded again');
  assert.equal(maxAbsDiff(damaged.prefix(model, redo).prefix, computed), 0);
  damaged.close();
  const healed = openPrefixCache({ views: 2, dir }, model, blocks, { preprocess, initFrom: TOWER });
  assert.deepEqual([healed.store.stats.damagedChunks, healed.store.stats.found], [0, 4]);
  healed.close();
});

test('a cache folder of another setup is refused in one line; a prefix that normalises by batch statistics cannot be cached', async () => {
  const { model, blocks } = frozenModel();
  const dir = path.join(root, 'mismatch');
  openPrefixCache({ views: 2, dir }, model, blocks, { preprocess }).close();
  assert.throws(() => openPrefixCache({ views: 3, dir }, model, blocks, { preprocess }), (e: Error) =>
    /^feature cache .* holds features of another setup \(views: 3 here, 2 in the folder\): delete the folder or use another cache folder$/.test(e.message));
  assert.throws(() => openPrefixCache({ views: 2, dir }, model, blocks, { preprocess: trainPreprocess(32, { scale: [0.3, 1] }) }), /\(preprocess: /);

  const { model: efficientnet } = tinyModel({ hypernet: null }); // test-tiny's EfficientNet: batch norm with batch statistics
  trainableParameters(efficientnet, ['imageEncoder']);
  efficientnet.train();
  assert.throws(() => openPrefixCache({ views: 2, dir: path.join(root, 'bn') }, efficientnet, frozenPrefixBlocks(efficientnet)!, { preprocess }),
    /featureCache: the frozen prefix's output depends on the batch or on chance in training/);
});

test('a SigLIP baseline caching at its HyperCLIP twin\'s depth gets the same key and folder; bad featureCache fields are refused', () => {
  const { model, blocks } = frozenModel();
  const { model: siglip } = tinyModel({ ...MOBILENET, hypernet: null });
  initFromRun(siglip, { from: TOWER, parts: ['imageEncoder'] });
  trainableParameters(siglip, ['imageEncoder']);
  siglip.train();
  assert.ok(frozenPrefixBlocks(siglip)! > blocks, 'the baseline freezes its whole tower');
  const keyOf = (m: typeof model) => prefixCacheKey(m, blocks, cacheablePrefixShape(m, blocks), { preprocess, views: 2, initFrom: TOWER });
  assert.deepEqual(keyOf(siglip), keyOf(model));
  assert.equal(prefixCacheFolder('.cache/prefix-features', keyOf(siglip)), prefixCacheFolder('.cache/prefix-features', keyOf(model)));
  assert.match(prefixCacheFolder('.cache/prefix-features', keyOf(model)), /^\.cache\/prefix-features\/mobilenet_v1_0\.25_128_quant-\d+b-32px-2v-[0-9a-f]{12}$/);

  assert.throws(() => resolveTrainConfig('test-tiny', undefined, { featureCache: { views: 0 } }), /featureCache.views must be an integer from 1 to 64, got 0/);
  assert.throws(() => resolveTrainConfig('test-tiny', undefined, { featureCache: { views: 2, size: 3 } as never }), /featureCache: unknown field "size"; known: views, blocks, dir/);
});

test('a second run reads the views the first wrote and trains exactly alike', async () => {
  const cacheDir = path.join(root, 'run-cache');
  const config = resolveTrainConfig('test-tiny', undefined, {
    modelOverrides: MOBILENET, init: { from: TOWER, parts: ['imageEncoder'] }, freeze: ['imageEncoder'], steps: 3, checkpointEvery: 3,
    featureCache: { views: 2, dir: cacheDir },
  });
  const run = async (name: string) => {
    const outDir = path.join(root, name);
    const summary = await train(config, { outDir, resume: false, reporter: silentReporter });
    const losses = new MetricsLog(path.join(outDir, 'metrics.jsonl')).read().filter((r) => r.event === 'train').map((r) => r.loss);
    return { summary, losses };
  };
  const first = await run('first');
  const views = 3 * config.batchSize;
  assert.deepEqual([first.summary.featureCache!.hits, first.summary.featureCache!.written], [0, views]);
  const second = await run('second');
  assert.deepEqual([second.summary.featureCache!.found, second.summary.featureCache!.hits, second.summary.featureCache!.written], [views, views, 0]);
  assert.equal(second.losses.length, 3);
  assert.deepEqual(second.losses, first.losses);
});
