// Resuming a run that starts its image encoder from a pretrained TFLite file
// and distils from that network's head (the *-lit recipes): the teacher
// checks that it shares the model's frozen prefix before the checkpoint is
// loaded, so the pretrained init must be read again on resume (it once was
// not, and every resume failed with "stem.conv.weight differs from the
// teacher's"). A tiny text tower, 32 px and 4-image batches on real
// Flickr8k train shards and the smallest pretrained MobileNet. The resumed
// run draws the same distillation tasks as an uninterrupted one (the
// checkpoint keeps the draws taken, warm start included), so it ends with the
// same weights; a checkpoint from before the draws were kept still resumes.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadSafetensors, saveSafetensors } from '../../src/engine/index.js';
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

/** The run's checkpoint: its metadata and its model's float tensors. */
function readCheckpoint(dir: string): { metadata: Record<string, string>; weights: Map<string, Float32Array> } {
  const { tensors, metadata } = loadSafetensors(path.join(dir, 'checkpoint.safetensors'));
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (name.startsWith('model.') && t.dtype === 'float32') weights.set(name, t.data() as Float32Array);
    t.dispose();
  }
  return { metadata, weights };
}

/** The step the run's checkpoint holds. */
const checkpointStep = (dir: string): string | undefined => readCheckpoint(dir).metadata.step;

/** Records where each run starts and what it says; throws once a step reaches `stopAfter`, as a kill during that step would. */
function recordingReporter(starts: number[], stopAfter = Infinity, messages: string[] = []): TrainReporter {
  let total = 0;
  return {
    // The warm start reports its steps through the same reporter: only the main loop's are recorded and interrupted.
    start: (steps, from) => { total = steps; if (steps === config.steps) starts.push(from); },
    step: (step) => { if (total === config.steps && step >= stopAfter) throw new Interrupt(`interrupted during step ${step}`); },
    message: (line) => { messages.push(line); },
    stop: () => undefined,
  };
}

const config = resolveTrainConfig('mnv1-025-siglip-lit', undefined, {
  modelOverrides: { embedDim: 16, image: { imageSize: 32 }, text: { width: 16, layers: 1, heads: 2, mlpRatio: 2 } },
  init: { from: NETWORK, parts: ['imageEncoder'] },
  distill: { teacher: NETWORK, weight: 1, classesPerTask: 8, temperature: 1, warmStart: { steps: 2, images: 4, batchSize: 4, lr: 1e-3 } },
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
  cpSync(dir, path.join(root, 'lit-old'), { recursive: true }); // for the checkpoint from before the draws were kept, below

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

test('the resumed distilling run draws the uninterrupted run\'s tasks and ends with its weights', { skip }, async () => {
  const dir = path.join(root, 'lit-full');
  await train(config, { outDir: dir, resume: false, reporter: recordingReporter([]) });
  const full = readCheckpoint(dir), resumed = readCheckpoint(path.join(root, 'lit'));
  const draws = (c: typeof full) => (JSON.parse(c.metadata.extra!) as { distillDraws?: number }).distillDraws;
  assert.ok(draws(full)! > 0, `the checkpoint keeps the distillation's draws: ${full.metadata.extra}`);
  assert.equal(draws(resumed), draws(full));
  assert.equal(resumed.weights.size, full.weights.size);
  let worst = 0;
  for (const [name, a] of full.weights) {
    const b = resumed.weights.get(name)!;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  assert.ok(worst < 1e-6, `resumed weights differ from the uninterrupted run by ${worst}`);
});

test('a distilling run\'s checkpoint without its draws (an older one) resumes with one warning that the tasks differ', { skip }, async () => {
  const dir = path.join(root, 'lit-old');
  const file = path.join(dir, 'checkpoint.safetensors');
  const { tensors, metadata } = loadSafetensors(file);
  const { distillDraws, ...extra } = JSON.parse(metadata.extra!) as Record<string, unknown>;
  assert.equal(typeof distillDraws, 'number');
  saveSafetensors(file, tensors, { ...metadata, extra: JSON.stringify(extra) });
  for (const t of tensors.values()) t.dispose();

  const messages: string[] = [];
  const summary = await train(config, { outDir: dir, resume: true, reporter: recordingReporter([], Infinity, messages) });
  assert.equal(summary.steps, 3);
  const warnings = messages.filter((m) => /distillation tasks/.test(m));
  assert.equal(warnings.length, 1, messages.join('\n'));
  assert.match(warnings[0]!, /no distillation draws.*other distillation tasks than an uninterrupted run/);
});
