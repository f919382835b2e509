import type { Command } from 'commander';
import { listRecipes, resolveTrainConfig } from '../../train/recipes.js';
import { train, type TrainReporter } from '../../train/trainer.js';
import { createProgress, type Progress } from '../progress.js';
import { integer, number } from '../parse.js';

function reporter(): TrainReporter {
  let bar: Progress | null = null;
  return {
    start: (total, from) => { bar = createProgress('train', total, from, ' loss {loss} lr {lr} {rate} img/s'); },
    step: (step, info) => bar?.update(step, { loss: info.loss.toFixed(4), lr: info.lr.toExponential(2), rate: info.imagesPerSecond.toFixed(0) }),
    message: (text) => (bar ? bar.log(text) : process.stderr.write(`${text}\n`)),
    stop: () => bar?.stop(),
  };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a HyperCLIP (or SigLIP baseline) model; checkpoints, resumes, logs metrics')
    .option('--preset <name>', `a training recipe: ${listRecipes().join(', ')}`)
    .option('--config <file>', 'a JSON file with a partial recipe (and optional "preset")')
    .option('--out <dir>', 'the run folder (checkpoint, metrics.jsonl, model/)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--steps <n>', 'override the number of steps', integer('steps'))
    .option('--batch-size <n>', 'override the batch size', integer('batch-size'))
    .option('--lr <x>', 'override the peak learning rate', number('lr'))
    .option('--seed <n>', 'override the seed', integer('seed', 0))
    .addHelpText('after', '\nExamples:\n  hyperclip train --preset tiny-hyperclip --out runs/tiny-hyperclip-s0\n  hyperclip train --out runs/tiny-hyperclip-s0 --resume\n' +
      '  hyperclip train --preset tiny-tin-classify --out runs/experiment/tiny-tin-classify-s0   # stage 1 of the shipped recipe\n' +
      '  hyperclip train --preset tiny-hyperclip-d --out runs/d-s0                              # stage 2, starts from stage 1')
    .action(async (opts) => {
      const config = resolveTrainConfig(opts.preset, opts.config, { steps: opts.steps, batchSize: opts.batchSize, lr: opts.lr, seed: opts.seed });
      const outDir = opts.out ?? `runs/${config.name}-s${config.seed}`;
      const summary = await train(config, { outDir, resume: Boolean(opts.resume), reporter: reporter() });
      if (summary.alreadyComplete) {
        console.log(`${outDir} is already complete (${config.name}, ${summary.steps} steps, final loss ${summary.finalLoss.toFixed(4)}): ` +
          `nothing to resume; the model is in ${summary.modelDir}`);
        return;
      }
      const c10 = summary.validation?.cifar10 ? `, cifar10 (train sample) zero-shot top-1 ${(100 * summary.validation.cifar10.top1).toFixed(2)}%` : '';
      const output = config.objective === 'classify'
        ? `first-stage checkpoint in ${summary.modelDir} (a recipe starts from it with "init")` : `model in ${summary.modelDir}`;
      console.log(`trained ${config.name} for ${summary.steps} steps: final loss ${summary.finalLoss.toFixed(4)}, ` +
        `${summary.imagesPerSecond.toFixed(1)} img/s${c10}; ${output} (${summary.skipped})`);
    });
}
