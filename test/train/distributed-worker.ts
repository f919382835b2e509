// A worker process for test/train/distributed.test.ts and multi-node.test.ts, started with
// torchrun-style variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
//   steps OUT STEPS GLOBAL_BATCH IMAGE_CHUNKS LR: train test-tiny on fixed global
//     batches of real Flickr8k samples, this rank's slice of each, and write
//     the parameters to OUT (safetensors; its metadata "ranks" lists every
//     rank's RANK, WORLD_SIZE, LOCAL_RANK and node).
//   train OUT_DIR STOP_AFTER [resume]: the real trainer on test-tiny; rank 0's
//     reporter throws after STOP_AFTER steps (a crash mid-run).
//   overlap GLOBAL_BATCH STEPS BUCKET_ELEMENTS: per step, this rank's slice's
//     gradients reduced after backward (reduceGradients) and again overlapped
//     with backward (OverlappedReducer); prints one JSON line with the largest
//     difference and the reducer's figures (test/train/overlapped-reducer.test.ts).
// Run by the node test runner with no arguments, it does nothing.
import { liveTensorCount, manualSeed, ProcessGroup, saveSafetensors, setNumThreads, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { createLoader, trainPreprocess, type Batch } from '../../src/data/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip } from '../../src/models/index.js';
import { loaderSources } from '../../src/train/data-sources.js';
import { broadcastWeights, reduceGradients } from '../../src/train/distributed-step.js';
import { ContrastiveLoss } from '../../src/train/objectives/contrastive-loss.js';
import { OverlappedReducer } from '../../src/train/overlapped-reducer.js';
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

async function overlapSteps(globalBatch: number, steps: number, bucketElements: number): Promise<void> {
  const info = rankFromEnvironment()!;
  const config = resolveTrainConfig('test-tiny', undefined);
  const tokenizer = Tokenizer.load(config.tokenizer);
  const group = ProcessGroup.connect({ ...info, timeoutMs: 30_000 });
  // Two copies of the model with rank 0's weights: one reduced after backward, one (with the reducer's hooks) overlapped.
  const replica = () => {
    manualSeed(config.seed);
    const model = new HyperClip(modelConfigFor(config, tokenizer)).train();
    broadcastWeights(group, model);
    // A parameter only rank 1 uses: rank 0 has no gradient for it. Registered first, it sits in the last bucket.
    const extra = tensor([0.5, -1, 2]);
    extra.requiresGrad = true;
    const params = [extra, ...createOptimizer(model, config).allParams()];
    return { extra, params, replicated: new Set([model.logitScale, model.logitBias]), objective: new ContrastiveLoss({ model, tokenizer, group }) };
  };
  const after = replica(), overlapped = replica();
  const reducer = new OverlappedReducer(group, overlapped.params, overlapped.replicated, bucketElements);
  const loader = createLoader({
    sources: loaderSources(config.data), batchSize: globalBatch, seed: 0, shuffle: true, dropLast: true, workers: 0,
    preprocess: trainPreprocess(after.objective.parts.model.config.image.imageSize, { scale: config.cropScale }),
  });
  const local = globalBatch / info.worldSize;
  const gradients = (params: Tensor[]): Float32Array[] =>
    tidy(() => params.map((p) => (p.grad === null ? new Float32Array(p.numel) : p.grad.data() as Float32Array)));
  const clear = (params: Tensor[]): void => params.forEach((p) => { p.grad = null; });
  const backward = (r: ReturnType<typeof replica>, batch: Batch, seed: number): void => tidy(() => {
    manualSeed(seed); // the same random draws (if the model makes any) for both replicas
    const loss = r.objective.loss(batch);
    (info.rank === 1 ? loss.add(r.extra.mul(r.extra).sum()) : loss).backward();
  });
  let worst = 0, changed = 0, tensorsAfterFirstStep = 0, extraGrad: number[] = [];
  for (let step = 0; step < steps; step++) {
    const batch = slice((await loader.next())!, info.rank * local, local);
    backward(after, batch, step);
    const unreduced = gradients(after.params);
    reduceGradients(group, after.params, after.replicated);
    const expected = gradients(after.params);
    backward(overlapped, batch, step);
    reducer.finish();
    const actual = gradients(overlapped.params);
    extraGrad = [...actual[0]!];
    clear(after.params);
    clear(overlapped.params);
    expected.forEach((e, k) => e.forEach((value, i) => {
      worst = Math.max(worst, Math.abs(value - actual[k]![i]!));
      if (Math.abs(value - unreduced[k]![i]!) > 1e-6) changed++;
    }));
    if (step === 0) tensorsAfterFirstStep = liveTensorCount();
  }
  const tensorsAtEnd = liveTensorCount();
  // An async all-reduce of a strided tensor: each rank holds (rank + 1) x [[1, 3], [2, 4]].
  const strided = tensor([[1, 2], [3, 4]]).mul(info.rank + 1).transpose(0, 1);
  group.allReduceAsync(strided, 'average').wait();
  console.log(JSON.stringify({
    rank: info.rank, worst, changed, extraGrad, figures: reducer.figures, tensorsAfterFirstStep, tensorsAtEnd,
    strided: [...(strided.contiguous().data() as Float32Array)],
  }));
  reducer.close();
  await loader.close();
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
if (mode === 'steps' || mode === 'train' || mode === 'overlap') {
  setNumThreads(1);
  try {
    if (mode === 'steps') await fixedSteps(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
    else if (mode === 'overlap') await overlapSteps(Number(args[0]), Number(args[1]), Number(args[2]));
    else await trainRun(args[0]!, Number(args[1]), args[2] === 'resume');
  } catch (error) {
    process.stderr.write(`rank ${process.env.RANK}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
