// Two-stage training (issue 21): a classify stage on labelled data, then a
// contrastive stage that starts its image encoder from it, with
// same-class positives and learning-rate scales.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadSafetensors, tensor } from '../../src/engine/index.js';
import { resolveTrainConfig, type TrainConfig } from '../../src/train/recipes.js';
import type { TrainReporter } from '../../src/train/reporter.js';
import { train } from '../../src/train/trainer.js';
import { weightDecayGroups } from '../../src/train/param-groups.js';

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-stages-'));
after(() => rmSync(root, { recursive: true, force: true }));

const quiet: TrainReporter = { start: () => undefined, step: () => undefined, message: () => undefined, stop: () => undefined };
const tiny = { model: 'test-tiny', wordPrior: false, batchSize: 8, steps: 3, warmupSteps: 1, checkpointEvery: 3, validateEvery: 0, logEvery: 1 };

function checkpointTensors(dir: string, prefix: string): Map<string, number[]> {
  const { tensors } = loadSafetensors(path.join(dir, 'checkpoint.safetensors'));
  const out = new Map<string, number[]>();
  for (const [name, t] of tensors) {
    if (name.startsWith(prefix) && t.dtype === 'float32') out.set(name.slice('model.'.length), Array.from(t.data() as Float32Array));
    t.dispose();
  }
  return out;
}

test('a classify stage trains the image encoder and a head on Tiny ImageNet labels, and a contrastive stage starts from it', async () => {
  const stage1Dir = path.join(root, 'stage1');
  const stage1: TrainConfig = resolveTrainConfig('tiny-tin-classify', undefined, {
    ...tiny, validation: { cifar10Limit: 0, retrievalLimit: 0, tinyImagenetLimit: 16 },
  });
  const first = await train(stage1, { outDir: stage1Dir, resume: false, reporter: quiet });
  assert.ok(Number.isFinite(first.finalLoss));
  assert.equal(first.modelDir, path.join(stage1Dir, 'checkpoint.safetensors'), 'a classify stage ends with its checkpoint, not a model folder');
  const encoder = checkpointTensors(stage1Dir, 'model.imageEncoder.');
  assert.ok(encoder.size > 10);
  assert.ok(checkpointTensors(stage1Dir, 'model.head.').size === 2, 'the head (weight, bias) is saved beside the encoder');

  // Stage 2 with the image encoder locked: after training it must still equal stage 1's.
  const stage2Dir = path.join(root, 'stage2');
  const stage2 = resolveTrainConfig('tiny-hyperclip-d', undefined, {
    ...tiny, tokenizer: 'flickr8k-4k', freeze: ['imageEncoder'], lrScale: {},
    init: { from: stage1Dir, parts: ['imageEncoder'] }, validation: { cifar10Limit: 0, retrievalLimit: 0 },
  });
  const second = await train(stage2, { outDir: stage2Dir, resume: false, reporter: quiet });
  assert.ok(Number.isFinite(second.finalLoss));
  const after2 = checkpointTensors(stage2Dir, 'model.imageEncoder.');
  for (const [name, values] of encoder) {
    if (name.includes('running') || name.includes('num_batches')) continue; // batch-norm statistics keep updating in train mode
    assert.deepEqual(after2.get(name), values, `${name} starts from stage 1 and stays locked`);
  }
});

test('init refuses a run folder without a checkpoint and a part the model lacks', async () => {
  const noRun = resolveTrainConfig('tiny-hyperclip-d', undefined, { ...tiny, tokenizer: 'flickr8k-4k', init: { from: path.join(root, 'nothing'), parts: ['imageEncoder'] } });
  await assert.rejects(train(noRun, { outDir: path.join(root, 'x1'), resume: false, reporter: quiet }), /init: no checkpoint at .*train that run first/);
  assert.throws(() => resolveTrainConfig('tiny-hyperclip-d', undefined, { init: { from: 'x', parts: [] } }), /init must be \{"from"/);
  assert.throws(() => resolveTrainConfig('tiny-hyperclip-d', undefined, { lrScale: { imageEncoder: -1 } }), /lrScale.imageEncoder must be a number between 0 and 10/);
  assert.throws(() => resolveTrainConfig('tiny-hyperclip-d', undefined, { positives: 'same-class' as never }), /positives must be "diagonal" or "same-label"/);
});

test('the classify objective needs exactly one labelled source', async () => {
  const mixed = resolveTrainConfig('tiny-tin-classify', undefined, { ...tiny, data: [{ dataset: 'flickr8k:train', weight: 1 }] });
  await assert.rejects(train(mixed, { outDir: path.join(root, 'x2'), resume: false, reporter: quiet }), /needs exactly one data source, a labelled one/);
});

test('learning-rate scales split the parameter groups by prefix, longest prefix first', () => {
  const p = (n: number[]) => tensor(new Float32Array(n.reduce((a, b) => a * b, 1)), n);
  const params: [string, ReturnType<typeof p>][] = [
    ['imageEncoder.conv.weight', p([2, 2])], ['imageEncoder.head.weight', p([2, 2])], ['imageEncoder.bn.bias', p([2])], ['text.weight', p([2, 2])],
  ];
  const groups = weightDecayGroups(params, 0.1, { imageEncoder: 0.1, 'imageEncoder.head': 0.5 });
  const find = (t: unknown) => groups.find((g) => g.params.includes(t as never))!;
  assert.equal(find(params[0]![1]).lrScale, 0.1);
  assert.equal(find(params[1]![1]).lrScale, 0.5);
  assert.equal(find(params[2]![1]).weightDecay, 0, 'norm biases keep no weight decay');
  assert.equal(find(params[2]![1]).lrScale, 0.1);
  assert.equal(find(params[3]![1]).lrScale, undefined, 'unscaled parameters keep the plain groups');
  assert.deepEqual(weightDecayGroups(params, 0.1).length, 2, 'without scales: exactly the two groups of before');
  assert.throws(() => weightDecayGroups(params, 0.1, { vision: 0.1 }), /lrScale: no trainable parameter is named "vision"/);
});
