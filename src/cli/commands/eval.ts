import type { Command } from 'commander';
import { DATASETS, expandShards, resolveDataset, type CaptionSource } from '../../data/index.js';
import { loadBundle } from '../../bundle/bundle.js';
import { evaluateRetrieval } from '../../eval/retrieval.js';
import { formatRetrieval, formatZeroShot } from '../../eval/report.js';
import { readClassnames, resolveTemplates } from '../../eval/templates.js';
import { evaluateZeroShot } from '../../eval/zeroshot.js';
import { useAllCores } from '../../engine/index.js';
import { createProgress, printSummary } from '../progress.js';
import { integer } from '../parse.js';
import { runCorruptions } from './eval-corruptions.js';
import { isPretrainedFolder } from '../../bundle/pretrained.js';
import { checkZeroShotEngine, runPretrainedEval } from './eval-pretrained.js';

interface EvalOptions {
  model?: string;
  dataset: string;
  split?: string;
  classnames?: string;
  templates: string;
  limit?: number;
  batchSize: number;
  json?: boolean;
  corruptions?: string;
  severities: string;
  seed: number;
  engine: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('zero-shot classification (cifar10, cifar100, your shards) or Flickr8k retrieval')
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--dataset <name|shards>', `${Object.keys(DATASETS).join(', ')}, or shard paths/patterns with --classnames`, 'cifar10')
    .option('--split <split>', 'the split of a named dataset (default: test; tiny-imagenet: val)')
    .option('--classnames <file>', 'class names (JSON list or one per line) for your own shards')
    .option('--templates <clip|simple|file>', 'prompt templates: the dataset\'s CLIP set, "a photo of a {}.", or a JSON list', 'clip')
    .option('--limit <n>', 'evaluate only the first n samples', integer('limit'))
    .option('--batch-size <n>', 'images per forward pass', integer('batch-size'), 256)
    .option('--json', 'print the full result as JSON on stdout (the summary line then goes to stderr)')
    .option('--corruptions <all|list>', 'zero-shot accuracy under corruptions (all, or e.g. gaussian-noise,jpeg) beside the clean accuracy')
    .option('--severities <list>', 'corruption severities 1..5 to evaluate', '1,2,3,4,5')
    .option('--seed <n>', 'seed of the corruptions\' random choices', integer('seed', 0), 0)
    .option('--engine <libtorch|onnx>', 'onnx: a pretrained folder\'s classifier.onnx on onnxruntime (hyperclip import)', 'libtorch')
    .addHelpText('after', '\nExamples:\n  hyperclip eval --dataset cifar10\n  hyperclip eval --dataset flickr8k --limit 500\n' +
      '  hyperclip eval --dataset tiny-imagenet --limit 1000\n' +
      '  hyperclip eval --dataset "shards/val-{000..003}.tar" --classnames names.txt --templates simple\n' +
      '  hyperclip eval --dataset cifar10 --limit 1000 --corruptions all --severities 1,3,5\n' +
      '  hyperclip eval --model runs/pretrained/v1-0.25-128 --dataset imagenet-sample --engine onnx   # an imported ImageNet head')
    .action(async (opts: EvalOptions) => {
      useAllCores();
      if (opts.model !== undefined && isPretrainedFolder(opts.model)) return runPretrainedEval({ ...opts, model: opts.model });
      checkZeroShotEngine(opts.engine);
      const bundle = loadBundle(opts.model);
      if (opts.dataset in DATASETS) opts.split ??= DATASETS[opts.dataset as keyof typeof DATASETS].evalSplit;
      if (opts.corruptions !== undefined) return runCorruptions(bundle, { ...opts, corruptions: opts.corruptions }, zeroShotSource(opts));
      if (opts.dataset === 'flickr8k') return runRetrieval(bundle, opts);
      return runZeroShot(bundle, opts);
    });
}

async function runRetrieval(bundle: ReturnType<typeof loadBundle>, opts: EvalOptions): Promise<void> {
  const source = resolveDataset('flickr8k', opts.split ?? 'test');
  const progress = createProgress('retrieval', opts.limit ?? 1000);
  const result = await evaluateRetrieval(bundle, { shards: source.shards, caption: source.caption },
    { limit: opts.limit, batchSize: opts.batchSize, onProgress: (done) => progress.update(Math.min(done, opts.limit ?? 1000)) });
  progress.stop();
  if (opts.json) console.log(JSON.stringify({ dataset: 'flickr8k', split: opts.split, model: bundle.dir, ...result }, null, 2));
  else console.log(formatRetrieval(result));
  printSummary(`flickr8k ${opts.split} retrieval: image->text R@1 ${(100 * result.imageToText.r1).toFixed(2)}%, ` +
    `text->image R@1 ${(100 * result.textToImage.r1).toFixed(2)}% (${result.images} images, ${result.captions} captions)`, opts.json);
}

function zeroShotSource(opts: EvalOptions): { shards: string[]; classnames: string[]; clipTemplates: string[] | null; name: string } {
  if (opts.dataset in DATASETS) {
    const resolved = resolveDataset(opts.dataset, opts.split ?? 'test');
    const caption = resolved.caption as Extract<CaptionSource, { kind: 'label' }>;
    const classnames = opts.classnames ? readClassnames(opts.classnames) : caption.classnames;
    return { shards: resolved.shards, classnames, clipTemplates: caption.templates, name: `${opts.dataset} ${opts.split}` };
  }
  if (!opts.classnames) throw new Error(`--dataset ${opts.dataset} is not a named dataset: give --classnames FILE for your shards`);
  return { shards: expandShards(opts.dataset), classnames: readClassnames(opts.classnames), clipTemplates: null, name: opts.dataset };
}

async function runZeroShot(bundle: ReturnType<typeof loadBundle>, opts: EvalOptions): Promise<void> {
  const source = zeroShotSource(opts);
  const templates = resolveTemplates(opts.templates, source.clipTemplates);
  const progress = createProgress('zero-shot', opts.limit ?? 0);
  const caption: CaptionSource = { kind: 'label', classnames: source.classnames, templates };
  const result = await evaluateZeroShot(bundle, { shards: source.shards, caption }, source.classnames, templates,
    { limit: opts.limit, batchSize: opts.batchSize, onProgress: (done) => progress.update(done) });
  progress.stop();
  if (opts.json) console.log(JSON.stringify({ dataset: source.name, model: bundle.dir, templates: templates.length, ...result }, null, 2));
  else console.log(formatZeroShot(result));
  printSummary(`${source.name} zero-shot top-1: ${(100 * result.top1).toFixed(2)}% (${result.samples} images, ${source.classnames.length} classes)`, opts.json);
}
