// The gradient all-reduce overlapped with backward (src/train/overlapped-reducer.ts)
// on two processes over 127.0.0.1 (c10d, Gloo), test-tiny on real Flickr8k
// samples: the same gradients as the reduction after backward, with a
// parameter only one rank uses; buckets launched from inside backward; and
// the option's checks and record in the run config.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../../src/engine/index.js';
import { trainPreprocess } from '../../src/data/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip } from '../../src/models/index.js';
import { freePort } from '../../src/train/free-port.js';
import { createContrastiveObjective } from '../../src/train/objectives/contrastive.js';
import { singleProcess } from '../../src/train/distributed.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import { silentReporter } from '../../src/train/reporter.js';
import { modelConfigFor } from '../../src/train/trainer.js';

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'distributed-worker.js');

interface RankReport {
  rank: number;
  worst: number;
  changed: number;
  extraGrad: number[];
  figures: { steps: number; buckets: number; launchedDuringBackward: number };
  tensorsAfterFirstStep: number;
  tensorsAtEnd: number;
  strided: number[];
}

async function twoRanks(args: string[]): Promise<RankReport[]> {
  const port = await freePort();
  return Promise.all([0, 1].map((rank) => new Promise<RankReport>((resolve, reject) => {
    const child = spawn(process.execPath, [worker, ...args], {
      env: { ...process.env, HYPERCLIP_THREADS: '1', RANK: String(rank), WORLD_SIZE: '2', LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout.trim().split('\n').pop()!)) : reject(new Error(`rank ${rank} exited with ${code}: ${stderr}`))));
  })));
}

test('2 ranks: the overlapped reduction gives the gradients of the reduction after backward', async () => {
  const steps = 2;
  // Buckets of 4096 values: test-tiny's parameters fill many, so most launch from inside backward.
  const reports = await twoRanks(['overlap', '16', String(steps), '4096']);
  for (const r of reports) {
    assert.ok(r.worst <= 1e-6, `rank ${r.rank}: the overlapped gradients differ from reduceGradients' by ${r.worst}`);
    assert.ok(r.changed > 100, `rank ${r.rank}: the reduction changed only ${r.changed} gradient values: did it reduce anything?`);
    // Rank 1's gradient of `extra` (2 x [0.5, -1, 2]) plus rank 0's none (zeros).
    assert.deepEqual(r.extraGrad, [1, -2, 4], `rank ${r.rank}: the gradient of the parameter only rank 1 uses`);
    assert.equal(r.figures.steps, steps);
    assert.ok(r.figures.buckets > 4, `only ${r.figures.buckets} buckets`);
    // Each step, every bucket launches from a hook inside backward, but on rank 0 the last one: it holds
    // `extra`, which gets no gradient there, so it launches after backward (test-tiny uses all its parameters).
    assert.equal(r.figures.launchedDuringBackward, steps * (r.rank === 0 ? r.figures.buckets - 1 : r.figures.buckets),
      `rank ${r.rank}: launches from inside backward over ${steps} steps of ${r.figures.buckets} buckets`);
    assert.equal(r.tensorsAtEnd, r.tensorsAfterFirstStep, `rank ${r.rank}: tensors left behind by later steps`);
    assert.deepEqual(r.strided, [1.5, 4.5, 3, 6], `rank ${r.rank}: the async average of a strided tensor`);
  }
});

test('overlapAllReduce is recorded in the resolved config, and a one-process run refuses it', () => {
  const config = resolveTrainConfig('test-tiny', undefined, { overlapAllReduce: true });
  assert.equal(JSON.parse(JSON.stringify(config)).overlapAllReduce, true);
  assert.equal('overlapAllReduce' in resolveTrainConfig('test-tiny', undefined, { overlapAllReduce: undefined }), false, 'the old default writes nothing new');
  assert.throws(() => resolveTrainConfig('test-tiny', undefined, { overlapAllReduce: 'yes' as never }), /overlapAllReduce must be true or false, got "yes"/);
  const tokenizer = Tokenizer.load(config.tokenizer);
  manualSeed(config.seed);
  const model = new HyperClip(modelConfigFor(config, tokenizer));
  assert.throws(() => createContrastiveObjective(config, {
    model, tokenizer, sources: [], parallel: singleProcess, device: 'cpu', reporter: silentReporter, outDir: 'unused', checkpointFile: 'unused', preprocess: trainPreprocess(32),
  }), /overlapAllReduce \(--overlap-allreduce\) .* this run is one process: add --nproc-per-node N .*, or drop it/);
});
