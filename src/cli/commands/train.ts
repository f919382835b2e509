import { InvalidArgumentError, type Command } from 'commander';
import { listRecipes, resolveTrainConfig, validateTrainConfig } from '../../train/recipes.js';
import type { TrainReporter } from '../../train/reporter.js';
import { train } from '../../train/trainer.js';
import { launchRole, launchWorkers } from '../../train/distributed-launch.js';
import { cudaAvailable } from '../../engine/index.js';
import { listPresets } from '../../models/config.js';
import { createProgress, type Progress } from '../progress.js';
import { integer, number } from '../parse.js';
import { percent } from '../../eval/format.js';

function reporter(): TrainReporter {
  let bar: Progress | null = null;
  return {
    start: (total, from) => { bar = createProgress('train', total, from, ' loss {loss} lr {lr} {rate} img/s'); },
    step: (step, info) => bar?.update(step, { loss: info.loss.toFixed(4), lr: info.lr.toExponential(2), rate: info.imagesPerSecond.toFixed(0) }),
    message: (text) => (bar ? bar.log(text) : process.stderr.write(`${text}\n`)),
    stop: () => bar?.stop(),
  };
}

const device = (value: string): string => {
  if (value !== 'cpu' && !/^cuda(:\d+)?$/.test(value)) throw new InvalidArgumentError(`expected cpu or cuda for --device but received "${value}"`);
  return value;
};

const LAUNCH_OPTIONS = ['nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'distTimeout', 'nprocPerNode'] as const;

const recipe = (value: string): string => {
  if (listRecipes().includes(value)) return value;
  const model = listPresets().some((p) => p.name === value)
    ? ` ("${value}" is a model preset: a --config file with {"preset": "tiny-hyperclip", "model": "${value}"} trains it)` : '';
  throw new InvalidArgumentError(`unknown recipe "${value}"${model}; recipes: ${listRecipes().join(', ')}`);
};

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a HyperCLIP (or SigLIP baseline) model; checkpoints, resumes, logs metrics')
    .option('--preset <name>', `a training recipe: ${listRecipes().join(', ')}`, recipe)
    .option('--config <file>', 'a JSON file with a partial recipe (and optional "preset")')
    .option('--out <dir>', 'the run folder (checkpoint, metrics.jsonl, model/)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--steps <n>', 'override the number of steps', integer('steps'))
    .option('--batch-size <n>', 'override the batch size', integer('batch-size'))
    .option('--lr <x>', 'override the peak learning rate', number('lr'))
    .option('--seed <n>', 'override the seed', integer('seed', 0))
    .option('--feature-cache-views <k>', 'cache the frozen prefix\'s features on disk, with k fixed augmented views per image (changes the augmentation; recipe field "featureCache")', integer('feature-cache-views'))
    .option('--device <device>', 'cpu, or cuda (each rank takes cuda:LOCAL_RANK)', device, 'cpu')
    .option('--nproc-per-node <n>', 'data-parallel: start n worker processes on this node (docs/distributed.md)', integer('nproc-per-node'))
    .option('--nnodes <n>', 'data-parallel: number of nodes', integer('nnodes'), 1)
    .option('--node-rank <r>', 'data-parallel: this node\'s index, 0 to nnodes - 1', integer('node-rank', 0), 0)
    .option('--master-addr <host>', 'data-parallel: address of node 0', '127.0.0.1')
    .option('--master-port <port>', 'data-parallel: a free TCP port on node 0', integer('master-port'), 29500)
    .option('--dist-timeout <s>', 'data-parallel: seconds a collective may wait for the other ranks (default 900)', number('dist-timeout'))
    .option('--overlap-allreduce', 'data-parallel: all-reduce gradient buckets while backward still runs (recorded in train-config.json)')
    .addHelpText('after', '\nExamples:\n  hyperclip train --preset tiny-hyperclip --out runs/tiny-hyperclip-s0\n  hyperclip train --out runs/tiny-hyperclip-s0 --resume\n' +
      '  hyperclip train --preset tiny-tin-classify --out runs/experiment/tiny-tin-classify-s0   # stage 1 of the shipped recipe\n' +
      '  hyperclip train --preset tiny-hyperclip-d --out runs/d-s0                              # stage 2, starts from stage 1\n' +
      '  hyperclip train --preset tiny-hyperclip --nproc-per-node 2 --out runs/tiny-hyperclip-dp2\n' +
      '  hyperclip train --preset mnv1-025-hyperclip-lit --feature-cache-views 4 --out runs/mnv1-025-cached-s0   # .cache/prefix-features')
    .action(async (opts, command: Command) => {
      const given = new Set(LAUNCH_OPTIONS.filter((name) => command.getOptionValueSource(name) === 'cli'));
      const role = launchRole({ ...opts, given });
      if (opts.device !== 'cpu' && !cudaAvailable()) {
        throw new Error(`--device ${opts.device}: this libtorch has no CUDA (Debian's libtorch-dev is CPU-only): ` +
          'build the addon against a CUDA libtorch (LIBTORCH=/path/to/libtorch npm run build:native), or train with --device cpu');
      }
      if (opts.distTimeout !== undefined) process.env.HYPERCLIP_DIST_TIMEOUT = String(opts.distTimeout);
      if (role === 'launcher') {
        // The launcher: this same command runs again in each worker, which sees RANK in its environment.
        const result = await launchWorkers({
          nprocPerNode: opts.nprocPerNode, nnodes: opts.nnodes, nodeRank: opts.nodeRank, masterAddr: opts.masterAddr,
          masterPort: opts.masterPort, args: process.argv.slice(1),
        });
        if (result.failure !== null) throw new Error(result.failure);
        return;
      }
      const resolved = resolveTrainConfig(opts.preset, opts.config, {
        steps: opts.steps, batchSize: opts.batchSize, lr: opts.lr, seed: opts.seed, overlapAllReduce: opts.overlapAllreduce ? true : undefined,
      });
      const config = opts.featureCacheViews === undefined ? resolved
        : validateTrainConfig({ ...resolved, featureCache: { ...resolved.featureCache, views: opts.featureCacheViews } });
      const outDir = opts.out ?? `runs/${config.name}-s${config.seed}`;
      const summary = await train(config, { outDir, resume: Boolean(opts.resume), reporter: reporter(), device: opts.device });
      if (process.env.RANK !== undefined && process.env.RANK !== '0') return; // rank 0 speaks for the group
      if (summary.alreadyComplete) {
        console.log(`${outDir} is already complete (${config.name}, ${summary.steps} steps, final loss ${summary.finalLoss.toFixed(4)}): ` +
          `nothing to resume; the model is in ${summary.modelDir}`);
        return;
      }
      const c10 = summary.validation?.cifar10 ? `, cifar10 (train sample) zero-shot top-1 ${percent(summary.validation.cifar10.top1, { unit: true })}` : '';
      const output = config.objective === 'classify'
        ? `first-stage checkpoint in ${summary.modelDir} (a recipe starts from it with "init")` : `model in ${summary.modelDir}`;
      console.log(`trained ${config.name} for ${summary.steps} steps: final loss ${summary.finalLoss.toFixed(4)}, ` +
        `${summary.imagesPerSecond.toFixed(1)} img/s${c10}; ${output} (${summary.skipped})`);
    });
}
