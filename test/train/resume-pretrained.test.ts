// Resuming a run that starts its image encoder from a pretrained TFLite file
// and distils from that network's head (the *-lit recipes): the teacher
// checks that it shares the model's frozen prefix before the checkpoint is
// loaded, so the pretrained init must be read again on resume (it once was
// not, and every resume failed with "stem.conv.weight differs from the
// teacher's"). A tiny text tower, 32 px and 4-image batches on real
// Flickr8k train shards and the smallest pretrained MobileNet.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadSafetensors } from '../../src/engine/index.js';
import { pretrainedFile } from '../../src/models/import/pretrained-ref.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import type { TrainReporter } from '../../src/train/reporter.js';
import { train } from '../../src/train/trainer.js';

const NETWORK = 'pretrained:mobilenet_v1_0.25_128_quant';
const TFLITE = pretrainedFile(NETWORK)!;
// The pretrained files live in the shared data: missing data skips locally but fails on CI.
const skip = existsSync(TFLITE) || process.env.CI === 'true' ? false : `${TFLITE} is missing (set HYPERCLIP_DATA)`;

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-resume-pretrained-'));
after(() => rmSync(root, { recursive: true, force: true }));

class Interrupt extends Error {}

/** The step the run's checkpoint holds. */
function checkpointStep(dir: string): string | undefined {
  const { tensors, metadata } = loadSafetensors(path.join(dir, 'checkpoint.safetensors'));
  for (const t of tensors.values()) t.dispose();
  return metadata.step;
}

/** Records where each run starts; throws once a step reaches `stopAfter`, as a kill during that step would. */
function recordingReporter(starts: number[], stopAfter = Infinity): TrainReporter {
  return {
    start: (_total, from) => { starts.push(from); },
    step: (step) => { if (step >= stopAfter) throw new Interrupt(`interrupted during step ${step}`); },
    message: () => undefined,
    stop: () => undefined,
  };
}

const config = resolveTrainConfig('mnv1-025-siglip-lit', undefined, {
  modelOverrides: { embedDim: 16, image: { imageSize: 32 }, text: { width: 16, layers: 1, heads: 2, mlpRatio: 2 } },
  init: { from: NETWORK, parts: ['imageEncoder'] },
  distill: { teacher: NETWORK, weight: 1, classesPerTask: 8, temperature: 1 },
  data: [{ dataset: 'flickr8k:train', weight: 1 }],
  wordPrior: false, batchSize: 4, steps: 3, warmupSteps: 1, checkpointEvery: 2, validateEvery: 0, logEvery: 1,
  validation: { cifar10Limit: 0, retrievalLimit: 0 },
});

test('a run that distils from its pretrained init resumes from its checkpoint and finishes', { skip }, async () => {
  const dir = path.join(root, 'lit');
  const starts: number[] = [];
  await assert.rejects(train(config, { outDir: dir, resume: false, reporter: recordingReporter(starts, 3) }), Interrupt);
  // Killed during step 3: the checkpoint holds step 2.
  assert.equal(checkpointStep(dir), '2');

  const summary = await train(config, { outDir: dir, resume: true, reporter: recordingReporter(starts) });
  assert.deepEqual(starts, [0, 2], 'the resumed run starts at the checkpoint\'s step');
  assert.equal(summary.alreadyComplete, false);
  assert.equal(summary.steps, 3);
  assert.ok(Number.isFinite(summary.finalLoss), `final loss ${summary.finalLoss}`);
  assert.equal(checkpointStep(dir), '3');
  const records = new MetricsLog(path.join(dir, 'metrics.jsonl')).read();
  assert.deepEqual(records.filter((r) => r.event === 'train').map((r) => r.step), [1, 2, 3], 'step 3 trained once, after the resume');
  assert.equal(records.at(-1)!.event, 'summary');
  assert.ok(existsSync(path.join(dir, 'model', 'config.json')), 'the finished run leaves its model folder');
});
