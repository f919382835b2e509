// A worker process for test/train/distributed.test.ts and multi-node.test.ts, started with
// torchrun-style variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
//   steps OUT STEPS GLOBAL_BATCH IMAGE_CHUNKS LR: train test-tiny on fixed global
//     batches of real Flickr8k samples, this rank's slice of each, and write
//     the parameters to OUT (safetensors; its metadata "ranks" lists every
//     rank's RANK, WORLD_SIZE, LOCAL_RANK and node).
//   train OUT_DIR STOP_AFTER [resume]: the real trainer on test-tiny; rank 0's
//     reporter throws after STOP_AFTER steps (a crash mid-run).
// Run by the node test runner with no arguments, it does nothing.
import { manualSeed, ProcessGroup, saveSafetensors, setNumThreads, type Tensor } from '../../src/engine/index.js';
import { createLoader, trainPreprocess, type Batch } from '../../src/data/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip } from '../../src/models/index.js';
import { loaderSources } from '../../src/train/data-sources.js';
import { broadcastWeights } from '../../src/train/distributed-step.js';
import { dataParallelStep } from '../../src/train/train-step.js';
import { rankFromEnvironment } from '../../src/train/distributed.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { modelConfigFor, train } from '../../src/train/trainer.js';


function slice(batch: Batch, start: number, size: number): Batch {
  const perImage = 3 * batch.height * batch.width;
  return {
    ...batch, size, images: batch.images.subarray(start * perImage, (start + size) * perImage),
    captions: batch.captions.slice(start, start + size), keys: batch.keys.slice(start, start + size), labels: null,
  };
}

async function fixedSteps(out: string, steps: number, globalBatch: number, imageChunks: number, lr: number): Promise<void> {
  const info = rankFromEnvironment()!;
  const config = resolveTrainConfig('test-tiny', undefined);
  const tokenizer = Tokenizer.load(config.tokenizer);
  manualSeed(config.seed);
  const model = new HyperClip(modelConfigFor(config, tokenizer)).train();
  const optimizer = createOptimizer(model, config);
  const group = ProcessGroup.connect({ ...info, timeoutMs: 30_000 });
  broadcastWeights(group, model);
  const loader = createLoader({
    sources: loaderSources(config.data), batchSize: globalBatch, seed: 0, shuffle: true, dropLast: true, workers: 0,
    preprocess: trainPreprocess(model.config.image.imageSize, { scale: config.cropScale }),
  });
  const local = globalBatch / info.worldSize;
  for (let step = 0; step < steps; step++) {
    optimizer.lr = lr;
    const batch = (await loader.next())!;
    dataParallelStep({ model, optimizer, tokenizer, gradClip: config.gradClip, group, imageChunks }, slice(batch, info.rank * local, local));
  }
  await loader.close();
  // Every rank's view of the launch (the torchrun variables it was given), kept beside the weights.
  const mine = { rank: info.rank, worldSize: info.worldSize, localRank: info.localRank, node: process.env.GROUP_RANK ?? null };
  const roles = group.allGatherBytes(new TextEncoder().encode(JSON.stringify(mine))).map((b) => JSON.parse(new TextDecoder().decode(b)));
  if (info.rank === 0) saveSafetensors(out, new Map<string, Tensor>(model.namedParameters()), { ranks: JSON.stringify(roles) });
  group.close();
}

async function trainRun(outDir: string, stopAfter: number, resume: boolean): Promise<void> {
  const config = resolveTrainConfig('test-tiny', undefined);
  const reporter = {
    start: () => undefined,
    step: (step: number) => { if (step >= stopAfter) throw new Error(`interrupted after step ${step}`); },
    message: () => undefined,
    stop: () => undefined,
  };
  await train(config, { outDir, resume, reporter });
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'steps' || mode === 'train') {
  setNumThreads(1);
  try {
    if (mode === 'steps') await fixedSteps(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
    else await trainRun(args[0]!, Number(args[1]), args[2] === 'resume');
  } catch (error) {
    process.stderr.write(`rank ${process.env.RANK}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
