// Step-level checkpoints of compression (src/compress/compress-checkpoint.ts):
// a warm-up and a fine-tune stopped mid-phase and resumed end where the
// uninterrupted run ends; a checkpoint from other settings is refused in one
// line; a checkpoint file is only ever seen whole, even with its writer
// killed; and `hyperclip compress --resume` goes on from a leftover folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AdamW, decodeSafetensors } from '../../src/engine/index.js';
import { loadBundle } from '../../src/bundle/bundle.js';
import type { HyperClip } from '../../src/models/index.js';
import { pruneAndFinetune, warmUp, type CompressReporter, type WarmedModel } from '../../src/compress/adasap.js';
import { resolveCompressConfig } from '../../src/compress/adasap-recipe.js';
import { CompressCheckpoints, type PhaseProgress } from '../../src/compress/compress-checkpoint.js';
import { maxAbsDiff, tempDir } from '../models/helpers.js';
import { hyperclip, tinyFolder } from './helpers.js';

// AdaSAP, so the warm-up carries saliency and channel radii: refreshed at steps 0 and 3, so a run resumed at step 2
// needs the radii of step 0 back (set from the initial weights' BN scales) and the saliency sums of steps 0 and 1.
const CONFIG = resolveCompressConfig({ method: 'adasap', flopsRatio: 0.6, warmupSteps: 5, finetuneSteps: 4, batchSize: 8, radiusRefreshSteps: 3 });

// Resumed and uninterrupted runs take the same steps on the same batches in the same order, from the same weights,
// optimiser moments and random state, so they agree to the bit (checked with a tolerance of 0 at one thread); the
// tolerance only allows for kernels that split their sums across threads differently from one call to the next.
const TOLERANCE = 1e-6;

/** A reporter that keeps the messages and, with `stop`, throws after that step of that phase (an interruption). */
function recorder(stop?: { phase: 'warm-up' | 'fine-tune'; step: number }): { reporter: CompressReporter; messages: string[] } {
  const messages: string[] = [];
  let phase = '';
  return {
    messages,
    reporter: {
      phase: (name) => { phase = name; },
      step: (step) => { if (stop !== undefined && phase === stop.phase && step === stop.step) throw new Error(`stopped after ${phase} step ${step}`); },
      done: () => undefined,
      message: (text) => { messages.push(text); },
    },
  };
}

function assertSameModel(actual: HyperClip, expected: HyperClip, what: string): void {
  const want = expected.stateDict();
  const got = actual.stateDict();
  assert.deepEqual([...got.keys()], [...want.keys()], `${what}: the same tensors`);
  for (const [name, t] of got) {
    const diff = maxAbsDiff(t, want.get(name)!);
    assert.ok(diff <= TOLERANCE, `${what}: ${name} differs by ${diff}`);
  }
}

function assertSameWarmed(actual: WarmedModel, expected: WarmedModel, what: string): void {
  assertSameModel(actual.model, expected.model, what);
  assert.deepEqual([...actual.scores.keys()], [...expected.scores.keys()], `${what}: the saliency of every group`);
  for (const [id, scores] of actual.scores) {
    const want = expected.scores.get(id)!;
    const diff = scores.reduce((m, v, c) => Math.max(m, Math.abs(v - want[c]!) / Math.max(1e-12, Math.abs(want[c]!))), 0);
    assert.ok(diff <= TOLERANCE, `${what}: saliency of ${id} differs by ${diff} (relative)`);
  }
  assert.ok(Math.abs(actual.warmupLoss - expected.warmupLoss) <= TOLERANCE, `${what}: warm-up loss ${actual.warmupLoss}, uninterrupted ${expected.warmupLoss}`);
  assert.deepEqual(actual.rngState, expected.rngState, `${what}: the random state the fine-tunes start from`);
}

test('a warm-up and a fine-tune stopped mid-phase and resumed from their checkpoints end with the uninterrupted run\'s weights, saliency and losses', async () => {
  const folder = tinyFolder();
  const checkpoint = { dir: path.join(tempDir(), 'checkpoints'), everySteps: 2 };

  const plain = loadBundle(folder);
  const plainWarmed = await warmUp(plain, CONFIG, recorder().reporter);
  const plainOut = await pruneAndFinetune(plain, plainWarmed, CONFIG, recorder().reporter);

  // Stopped after warm-up step 3: step 2's checkpoint is the last.
  await assert.rejects(warmUp(loadBundle(folder), CONFIG, recorder({ phase: 'warm-up', step: 3 }).reporter, { checkpoint }), /stopped after warm-up step 3/);
  assert.deepEqual(readdirSync(checkpoint.dir), ['warm-up.safetensors']);

  // As a new process would: the warm-up goes on from step 2; the fine-tune is then stopped after its step 3.
  const second = loadBundle(folder);
  const log2 = recorder({ phase: 'fine-tune', step: 3 });
  const warmed2 = await warmUp(second, CONFIG, log2.reporter, { checkpoint });
  assert.ok(log2.messages.some((m) => m.startsWith('resuming warm-up at step 2 of 5 ')), log2.messages.join('\n'));
  assertSameWarmed(warmed2, plainWarmed, 'resumed warm-up');
  assert.deepEqual(readdirSync(checkpoint.dir), ['warmed.safetensors'], 'the finished warm-up replaces the checkpoint of its steps');
  await assert.rejects(pruneAndFinetune(second, warmed2, CONFIG, log2.reporter, { checkpoint }), /stopped after fine-tune step 3/);
  assert.deepEqual(readdirSync(checkpoint.dir).sort(), ['fine-tune-f0.6.safetensors', 'warmed.safetensors']);

  // And again: the warm-up is read, not redone; the fine-tune goes on from step 2 on a pruned model planned anew.
  const third = loadBundle(folder);
  const log3 = recorder({ phase: 'warm-up', step: 1 }); // a warm-up step here would throw
  const warmed3 = await warmUp(third, CONFIG, log3.reporter, { checkpoint });
  assert.ok(log3.messages.some((m) => m.startsWith('warm-up already done')), log3.messages.join('\n'));
  assertSameWarmed(warmed3, plainWarmed, 'warm-up read back');
  const resumed = await pruneAndFinetune(third, warmed3, CONFIG, log3.reporter, { checkpoint });
  assert.ok(log3.messages.some((m) => m.startsWith('resuming fine-tune at step 2 of 4 ')), log3.messages.join('\n'));
  assert.deepEqual(resumed.summary.widths, plainOut.summary.widths);
  assertSameModel(resumed.model, plainOut.model, 'resumed fine-tune');
  assert.ok(Math.abs(resumed.summary.finetuneLoss - plainOut.summary.finetuneLoss) <= TOLERANCE,
    `fine-tune loss ${resumed.summary.finetuneLoss}, uninterrupted ${plainOut.summary.finetuneLoss}`);
});

const progress = (step: number): PhaseProgress => ({ step, dataState: null as never, tail: [], seconds: 0, distillDraws: 0, extras: { arrays: new Map(), numbers: {} } });

/** The message of a rejection, checked to be a single line. */
async function refusal(run: Promise<unknown>): Promise<string> {
  const err = await run.then(() => assert.fail('expected a refusal'), (e: Error) => e);
  assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
  return err.message;
}

test('a checkpoint written under other settings is refused in one line that says to delete the folder', async () => {
  const bundle = loadBundle(tinyFolder());
  const checkpoint = { dir: path.join(tempDir(), 'checkpoints'), everySteps: 2 };
  const checkpoints = new CompressCheckpoints(checkpoint, bundle.config);
  const optimizer = new AdamW(bundle.model.parameters(), { lr: 1e-3 });
  const del = checkpoint.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  checkpoints.phase('warm-up', { ...CONFIG, lr: 1e-3 }).save(bundle.model, optimizer, progress(2));
  assert.match(await refusal(warmUp(bundle, CONFIG, recorder().reporter, { checkpoint })),
    new RegExp(`warm-up\\.safetensors was written under other settings \\(lr 0\\.001 there, 0\\.0005 now\\): resume with the settings it was written under, or delete ${del} to start over$`));

  checkpoints.saveWarmed(bundle.model, { ...CONFIG, seed: 1 }, { scores: new Map(), warmupLoss: 1, seconds: 0 });
  assert.match(await refusal(warmUp(bundle, CONFIG, recorder().reporter, { checkpoint })), /warmed\.safetensors was written under other settings \(seed 1 there, 0 now\)/);
  const elsewhere = { dir: path.join(tempDir(), 'checkpoints'), everySteps: 2 };
  new CompressCheckpoints(elsewhere, { ...bundle.config, text: null }).saveWarmed(bundle.model, CONFIG, { scores: new Map(), warmupLoss: 1, seconds: 0 });
  assert.match(await refusal(warmUp(bundle, CONFIG, recorder().reporter, { checkpoint: elsewhere })), /\(another model architecture\)/);

  // The warm-up does not depend on the target or the fine-tune's settings: one warm-up serves them all.
  checkpoints.saveWarmed(bundle.model, CONFIG, { scores: new Map([['blocks.1', new Float32Array([1])]]), warmupLoss: 1, seconds: 0 });
  const warmed = await warmUp(bundle, { ...CONFIG, flopsRatio: 0.8, finetuneSteps: 9, asamRho: 0.3 }, recorder().reporter, { checkpoint });
  assert.deepEqual([...warmed.scores], [['blocks.1', new Float32Array([1])]]);

  checkpoints.phase('fine-tune', { ...CONFIG, asamRho: 0.3 }).save(bundle.model, optimizer, progress(2));
  const real = await warmUp(loadBundle(tinyFolder()), { ...CONFIG, warmupSteps: 1 }, recorder().reporter);
  assert.match(await refusal(pruneAndFinetune(bundle, real, CONFIG, recorder().reporter, { checkpoint })),
    /fine-tune-f0\.6\.safetensors was written under other settings \(asamRho 0\.3 there, 0\.02 now\)/);
});

test('a checkpoint file is only ever seen whole while it is rewritten, and a writer killed mid-write leaves nothing the next save keeps', async () => {
  const dir = path.join(tempDir(), 'checkpoints');
  const src = (file: string) => pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src', file)).href;
  // A child that rewrites one fine-tune checkpoint (a test-tiny model, its optimiser and a 4 MB array) until killed.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { CompressCheckpoints } from '${src('compress/compress-checkpoint.js')}';
    import { resolveCompressConfig } from '${src('compress/adasap-recipe.js')}';
    import { HyperClip, resolveConfig } from '${src('models/index.js')}';
    import { AdamW } from '${src('engine/index.js')}';
    const model = new HyperClip(resolveConfig('test-tiny'));
    const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
    const phase = new CompressCheckpoints({ dir: process.env.CHECKPOINT_DIR, everySteps: 1 }, model.config)
      .phase('fine-tune', resolveCompressConfig({ method: 'adasap', flopsRatio: 0.6 }));
    const extras = { arrays: new Map([['filler', new Float32Array(1 << 20).fill(1)]]), numbers: {} };
    for (let step = 1; ; step++) phase.save(model, optimizer, { step, dataState: null, tail: [], seconds: 0, distillDraws: 0, extras });
  `], { env: { ...process.env, HYPERCLIP_THREADS: '1', CHECKPOINT_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const file = path.join(dir, 'fine-tune-f0.6.safetensors');
  const whole = (): number => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(file), file); // throws on a partial file
    const filler = tensors.get('array.filler')?.numel;
    for (const t of tensors.values()) t.dispose();
    assert.equal(filler, 1 << 20, 'the last tensor is all there');
    return Number(metadata.step);
  };
  const seen: number[] = [];
  try {
    const deadline = Date.now() + 60_000;
    while (seen.length < 30 && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 3));
      if (existsSync(file)) seen.push(whole());
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  assert.ok(seen.length >= 30, `read ${seen.length} versions of the checkpoint before the child ended: ${stderr}`);
  assert.ok(seen.every((s, i) => i === 0 || s >= seen[i - 1]!), `the steps read never go back: ${seen.join(', ')}`);
  assert.ok(whole() >= seen.at(-1)!, 'the file the killed writer left is whole');
  const bundle = loadBundle(tinyFolder());
  new CompressCheckpoints({ dir, everySteps: 1 }, bundle.config).phase('fine-tune', CONFIG).save(bundle.model, new AdamW(bundle.model.parameters(), { lr: 1e-3 }), progress(1));
  assert.deepEqual(readdirSync(dir), ['fine-tune-f0.6.safetensors'], 'the next save clears the dead writer\'s temporary file');
});

test('hyperclip compress: a leftover checkpoint folder needs --resume, which goes on from it and removes it once the model is saved', async () => {
  const folder = tinyFolder();
  const out = path.join(tempDir(), 'adasap');
  const config = resolveCompressConfig({ method: 'adasap', flopsRatio: 0.6, warmupSteps: 4, finetuneSteps: 2, batchSize: 8 });
  await assert.rejects(warmUp(loadBundle(folder), config, recorder({ phase: 'warm-up', step: 3 }).reporter, { checkpoint: { dir: path.join(out, 'checkpoints'), everySteps: 2 } }));
  const args = ['compress', '--model', folder, '--method', 'adasap', '--flops', '0.6', '--steps-warmup', '4', '--steps-finetune', '2', '--batch-size', '8', '--out', out];

  const refused = hyperclip(...args);
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stderr.trim(), `hyperclip: ${out} holds an unfinished compression: pass --resume to continue it, or choose another --out`);

  const resumed = hyperclip(...args, '--resume');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming warm-up at step 2 of 4/);
  assert.ok(!existsSync(path.join(out, 'checkpoints')), 'the checkpoints go once the model is saved');
  assert.equal((loadBundle(out).extra.compress as { method: string }).method, 'adasap');

  const again = hyperclip(...args, '--resume');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds a model: the compression there is finished, nothing to resume/);
});

test('hyperclip compress: --asam-rho, which only AdaSAP reads, is refused with a baseline before any model loads', () => {
  const refused = hyperclip('compress', '--model', 'no-such-folder', '--method', 'prune-finetune', '--flops', '0.5', '--asam-rho', '0.1', '--out', path.join(tempDir(), 'pf'));
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stderr.trim(), 'hyperclip: --asam-rho is AdaSAP\'s fine-tune radius; prune-finetune does not use it: leave it out, or pass --method adasap');
});
