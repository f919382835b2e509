// `hyperclip compress`: a trained model folder in, a channel-pruned model
// folder out (AdaSAP or a baseline), with progress per phase and a summary.
// Checkpoints go to <out>/checkpoints while it runs (--resume continues from
// them) and are removed once the model is saved.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadBundle, saveBundle } from '../../bundle/bundle.js';
import { useAllCores } from '../../engine/index.js';
import { compress, type CompressReporter } from '../../compress/adasap.js';
import { COMPRESS_DEFAULTS, COMPRESS_METHODS, resolveCompressConfig, type CompressMethod } from '../../compress/adasap-recipe.js';
import { SALIENCY_KINDS, type SaliencyKind } from '../../compress/saliency.js';
import { SALIENCY_SCALES, type SaliencyScale } from '../../compress/channel-plan.js';
import { MODEL_FILES } from '../../models/folder-layout.js';
import { createProgress, printSummary, type Progress } from '../progress.js';
import { integer, number } from '../parse.js';
import { addCsvOptions, type CsvCliOptions } from '../data-options.js';
import { loaderSources } from '../../train/data-sources.js';

interface CompressOptions extends CsvCliOptions {
  model?: string;
  data?: string;
  method: string;
  flops: number;
  out: string;
  stepsWarmup?: number;
  stepsFinetune?: number;
  batchSize?: number;
  lr?: number;
  asamRho?: number;
  seed?: number;
  saliency?: string;
  saliencyScale?: string;
  calibrationImages?: number;
  json?: boolean;
  resume?: boolean;
  checkpointEvery: number;
}

function reporter(): CompressReporter {
  let bar: Progress | null = null;
  return {
    phase: (name, steps) => { bar = steps > 0 ? createProgress(name, steps, 0, ' loss {loss}') : null; },
    step: (step, loss) => bar?.update(step, { loss: loss.toFixed(4) }),
    done: () => bar?.stop(),
    message: (text) => (bar ? bar.log(text) : process.stderr.write(`${text}\n`)),
  };
}

export function registerCompress(program: Command): void {
  addCsvOptions(program
    .command('compress')
    .description('prune whole channels of the image encoder to a FLOPs target: AdaSAP or a baseline (prune-finetune, sam)')
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--method <name>', COMPRESS_METHODS.join(', '), 'adasap')
    .requiredOption('--flops <ratio>', 'target multiply-adds as a fraction of the model\'s, e.g. 0.5', number('flops'))
    .requiredOption('--out <dir>', 'the folder for the compressed model')
    .option('--steps-warmup <n>', `steps before pruning (default ${COMPRESS_DEFAULTS.warmupSteps})`, integer('steps-warmup', 0))
    .option('--steps-finetune <n>', `steps after pruning (default ${COMPRESS_DEFAULTS.finetuneSteps})`, integer('steps-finetune', 0))
    .option('--batch-size <n>', `images per step (default ${COMPRESS_DEFAULTS.batchSize})`, integer('batch-size'))
    .option('--lr <x>', `peak learning rate of each phase (default ${COMPRESS_DEFAULTS.lr})`, number('lr'))
    .option('--asam-rho <x>', `AdaSAP's fine-tune radius, relative to each weight's size (default ${COMPRESS_DEFAULTS.asamRho}, chosen on validation: docs/asam-radius.md)`, number('asam-rho'))
    .option('--seed <n>', 'seed of the data order and the phases (default 0)', integer('seed', 0))
    .option('--saliency <kind>', `channel saliency: ${SALIENCY_KINDS.join(', ')} (default ${COMPRESS_DEFAULTS.saliency})`)
    .option('--saliency-scale <scale>', `how saliencies of different layers compare when choosing what goes: ${SALIENCY_SCALES.join(', ')} (default ${COMPRESS_DEFAULTS.saliencyScale}; group divides each layer's by its mean)`)
    .option('--calibration-images <n>', `after pruning, the layers reading pruned channels are solved by least squares to reproduce the dense model on this many training images; 0: no reconstruction (default ${COMPRESS_DEFAULTS.calibrationImages})`, integer('calibration-images', 0))
    .option('--checkpoint-every <n>', 'steps between checkpoints of each phase, kept in <out>/checkpoints until the model is saved', integer('checkpoint-every'), 20)
    .option('--resume', 'continue the compression in --out from its last checkpoint (same settings; a finished warm-up is not redone)')
    .option('--data <dataset>', 'train on this instead of the model\'s training mixture: a named split, shards, a CSV/TSV of image paths and captions, or class folders')
    .option('--json', 'print the summary as JSON on stdout'))
    .addHelpText('after', '\nExamples:\n  hyperclip compress --model models/default --method adasap --flops 0.5 --out runs/adasap-0.5\n' +
      '  hyperclip compress --flops 0.5 --data pairs.csv --csv-img-key filepath --csv-caption-key title --out runs/mine-0.5\n' +
      '  hyperclip compress --method prune-finetune --flops 0.7 --steps-warmup 60 --steps-finetune 60 --out runs/pf-0.7\n' +
      '  hyperclip compress --flops 0.5 --out runs/adasap-0.5 --resume     # after an interruption, with the same options\n' +
      '\nA run saves its state every --checkpoint-every steps under <out>/checkpoints; stopped at any point, the same command\n' +
      'with --resume goes on from the last checkpoint to the result an uninterrupted run gives. A checkpoint written under\n' +
      'other settings is refused. The folder is removed once the compressed model is saved.')
    .action(async (opts: CompressOptions) => {
      if (opts.asamRho !== undefined && opts.method !== 'adasap') throw new Error(`--asam-rho is AdaSAP's fine-tune radius; ${opts.method} does not use it: leave it out, or pass --method adasap`);
      const config = resolveCompressConfig({
        method: opts.method as CompressMethod, flopsRatio: opts.flops, seed: opts.seed, warmupSteps: opts.stepsWarmup,
        finetuneSteps: opts.stepsFinetune, batchSize: opts.batchSize, lr: opts.lr, asamRho: opts.asamRho, saliency: opts.saliency as SaliencyKind | undefined,
        saliencyScale: opts.saliencyScale as SaliencyScale | undefined, calibrationImages: opts.calibrationImages,
        data: opts.data === undefined ? undefined : { dataset: opts.data, weight: 1, csvImgKey: opts.csvImgKey, csvCaptionKey: opts.csvCaptionKey, csvSeparator: opts.csvSeparator },
      });
      if (config.data !== undefined) loaderSources([config.data]); // bad data fails here, in one line, before the model loads
      if (existsSync(path.join(opts.out, MODEL_FILES.config))) {
        throw new Error(`${opts.out} already holds a model: ${opts.resume ? 'the compression there is finished, nothing to resume' : 'choose another --out'}`);
      }
      const checkpoint = { dir: path.join(opts.out, 'checkpoints'), everySteps: opts.checkpointEvery };
      if (existsSync(checkpoint.dir) && !opts.resume) throw new Error(`${opts.out} holds an unfinished compression: pass --resume to continue it, or choose another --out`);
      const progress = reporter();
      if (opts.resume && !existsSync(checkpoint.dir)) progress.message(`no checkpoint in ${opts.out} yet: starting from step 0`);
      useAllCores();
      const bundle = loadBundle(opts.model);
      const { model, summary } = await compress(bundle, config, progress, { checkpoint });
      saveBundle(opts.out, model, bundle.tokenizer, { recipe: summary.recipe, compressedFrom: bundle.dir, compress: { ...config, ...summary } });
      rmSync(checkpoint.dir, { recursive: true, force: true });
      if (opts.json) console.log(JSON.stringify({ out: opts.out, config, ...summary }, null, 2));
      printSummary(`compressed ${bundle.dir} with ${config.method} to ${(summary.macs / summary.denseMacs).toFixed(3)} of the FLOPs ` +
        `(${(summary.macs / 1e6).toFixed(2)}M of ${(summary.denseMacs / 1e6).toFixed(2)}M multiply-adds, ${(summary.params / 1e3).toFixed(0)}k of ` +
        `${(summary.denseParams / 1e3).toFixed(0)}k classifier parameters) in ${summary.seconds.toFixed(0)} s; model in ${opts.out}`, opts.json);
    });
}
