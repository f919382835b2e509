import type { Command } from 'commander';
import { DATASETS, requireData, resolveData, type CaptionSource, type ResolvedData } from '../../data/index.js';
import { loadBundle } from '../../bundle/bundle.js';
import { evaluateRetrieval } from '../../eval/retrieval.js';
import { formatRetrieval, formatZeroShot } from '../../eval/report.js';
import { readClassnames, resolveTemplates } from '../../eval/templates.js';
import { evaluateZeroShot } from '../../eval/zeroshot.js';
import { checkNamePhrases, NAME_PHRASES, namePhrases, type NamePhrases } from '../../eval/name-phrases.js';
import { useAllCores } from '../../engine/index.js';
import { createProgress, printSummary } from '../progress.js';
import { integer } from '../parse.js';
import { addCsvOptions, csvColumns, type CsvCliOptions } from '../data-options.js';
import { runCorruptions } from './eval-corruptions.js';
import { isPretrainedFolder } from '../../bundle/pretrained.js';
import { checkZeroShotEngine, runPretrainedEval } from './eval-pretrained.js';

interface EvalOptions extends CsvCliOptions {
  model?: string;
  dataset: string;
  split?: string;
  classnames?: string;
  templates?: string;
  limit?: number;
  batchSize: number;
  json?: boolean;
  corruptions?: string;
  severities: string;
  seed: number;
  engine: string;
  namePhrases: string;
}

export function registerEval(program: Command): void {
  addCsvOptions(program
    .command('eval')
    .description('zero-shot classification (cifar10, cifar100, your image folder or shards) or image-text retrieval (flickr8k, your CSV)')
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--dataset <name|path>', `${Object.keys(DATASETS).join(', ')}; or your own: a folder of class folders, a CSV/TSV of images and captions, shards`, 'cifar10')
    .option('--split <split>', 'the split of a named dataset (default: test; tiny-imagenet: val)')
    .option('--classnames <file>', 'class names (JSON list or one per line): the .cls order of your shards, or the label order of your class folders')
    .option('--templates <clip|simple|file>', 'prompt templates: the dataset\'s CLIP set (default for named datasets), "a photo of a {}." (default for your own data), or a JSON list')
    .option('--limit <n>', 'evaluate only the first n samples', integer('limit'))
    .option('--batch-size <n>', 'images per forward pass', integer('batch-size'), 256)
    .option('--json', 'print the full result as JSON on stdout (the summary line then goes to stderr)')
    .option('--corruptions <all|list>', 'zero-shot accuracy under corruptions (all, or e.g. gaussian-noise,jpeg) beside the clean accuracy')
    .option('--severities <list>', 'corruption severities 1..5 to evaluate', '1,2,3,4,5')
    .option('--seed <n>', 'seed of the corruptions\' random choices', integer('seed', 0), 0)
    .option('--engine <libtorch|onnx>', 'onnx: a pretrained folder\'s classifier.onnx on onnxruntime (hyperclip import)', 'libtorch')
    .option(`--name-phrases <${NAME_PHRASES.join('|')}>`, 'zero-shot: wordnet adds to each class name "<name>, a kind of <hypernym>" for 2 hypernyms of its first WordNet noun sense, ' +
      'wordnet-imagenet the same from its first sense that is an ImageNet-1k class or above one (else its first); a class embedding averages all template x phrase prompts', 'none'))
    .addHelpText('after', '\nExamples:\n  hyperclip eval --dataset cifar10\n  hyperclip eval --dataset flickr8k --limit 500\n' +
      '  hyperclip eval --dataset tiny-imagenet --limit 1000\n' +
      '  hyperclip eval --dataset tiny-imagenet --limit 1000 --name-phrases wordnet   # each name with its WordNet hypernym phrases\n' +
      '  hyperclip eval --dataset cifar100 --name-phrases wordnet-imagenet   # the same, from the sense ImageNet-1k reaches ("tiger" the cat, not the person)\n' +
      '  hyperclip eval --dataset photos/                 # photos/cat/*.jpg, photos/dog/*.jpg: classes from the folder names\n' +
      '  hyperclip eval --dataset pairs.csv --csv-img-key filepath --csv-caption-key title   # retrieval on your pairs\n' +
      '  hyperclip eval --dataset "shards/val-{000..003}.tar" --classnames names.txt --templates simple\n' +
      '  hyperclip eval --dataset cifar10 --limit 1000 --corruptions all --severities 1,3,5\n' +
      '  hyperclip eval --model runs/pretrained/v1-0.25-128 --dataset imagenet-sample --engine onnx   # an imported ImageNet head')
    .action(async (opts: EvalOptions) => {
      const phrases = checkNamePhrases(opts.namePhrases);
      if (phrases !== 'none' && opts.corruptions !== undefined) throw new Error('--name-phrases applies to clean zero-shot, not to --corruptions');
      useAllCores();
      if (phrases !== 'none' && opts.model !== undefined && isPretrainedFolder(opts.model)) {
        throw new Error(`--name-phrases applies to zero-shot with a hyperclip model; ${opts.model} is an imported ImageNet classifier (its head has fixed classes)`);
      }
      if (opts.model !== undefined && isPretrainedFolder(opts.model)) return runPretrainedEval({ ...opts, model: opts.model });
      checkZeroShotEngine(opts.engine);
      if (opts.dataset in DATASETS) opts.split ??= DATASETS[opts.dataset as keyof typeof DATASETS].evalSplit;
      const data = resolveData(opts.dataset, {
        split: opts.split, classnames: opts.classnames === undefined ? undefined : readClassnames(opts.classnames),
        csv: csvColumns(opts),
      });
      // Captioned data without classes (flickr8k, a CSV) is scored by retrieval; anything else needs labels.
      const retrieval = data.classnames === null && (data.kind === 'csv' || data.kind === 'named') && opts.corruptions === undefined;
      if (!retrieval) requireData(data, 'labels');
      if (retrieval && phrases !== 'none') throw new Error(`--name-phrases applies to zero-shot classification; ${data.name} is scored by retrieval`);
      const bundle = loadBundle(opts.model);
      if (retrieval) return runRetrieval(bundle, opts, data);
      const templates = resolveTemplates(opts.templates ?? (data.clipTemplates === null ? 'simple' : 'clip'), data.clipTemplates);
      if (opts.corruptions !== undefined) return runCorruptions(bundle, { ...opts, corruptions: opts.corruptions }, data, templates);
      return runZeroShot(bundle, opts, data, templates, phrases);
    });
}

async function runRetrieval(bundle: ReturnType<typeof loadBundle>, opts: EvalOptions, data: ResolvedData): Promise<void> {
  const total = opts.limit ?? data.source.files?.files.length ?? 1000;
  const progress = createProgress('retrieval', total);
  const result = await evaluateRetrieval(bundle, data.source,
    { limit: opts.limit, batchSize: opts.batchSize, onProgress: (done) => progress.update(Math.min(done, total)) });
  progress.stop();
  if (opts.json) console.log(JSON.stringify({ dataset: data.kind === 'named' ? opts.dataset : data.name, split: opts.split, model: bundle.dir, ...result }, null, 2));
  else console.log(formatRetrieval(result));
  printSummary(`${data.name} retrieval: image->text R@1 ${(100 * result.imageToText.r1).toFixed(2)}%, ` +
    `text->image R@1 ${(100 * result.textToImage.r1).toFixed(2)}% (${result.images} images, ${result.captions} captions)`, opts.json);
}

async function runZeroShot(bundle: ReturnType<typeof loadBundle>, opts: EvalOptions, data: ResolvedData, templates: string[], mode: NamePhrases): Promise<void> {
  const classnames = data.classnames!;
  const phrases = namePhrases(classnames, mode);
  const progress = createProgress('zero-shot', opts.limit ?? data.source.files?.files.length ?? 0);
  const caption: CaptionSource = { kind: 'label', classnames, templates };
  const result = await evaluateZeroShot(bundle, { ...data.source, caption }, classnames, templates,
    { limit: opts.limit, batchSize: opts.batchSize, phrases, onProgress: (done) => progress.update(done) });
  progress.stop();
  const phraseFields = phrases === null ? { namePhrases: mode } : { namePhrases: mode, prompts: phrases.reduce((n, list) => n + list.length, 0) * templates.length, phrases };
  if (opts.json) console.log(JSON.stringify({ dataset: data.name, model: bundle.dir, templates: templates.length, ...phraseFields, ...result }, null, 2));
  else console.log(formatZeroShot(result));
  const skipped = result.skipped === 'skipped 0' ? '' : `; ${result.skipped}`;
  const named = phrases === null ? '' : ', WordNet name phrases';
  printSummary(`${data.name} zero-shot top-1: ${(100 * result.top1).toFixed(2)}% (${result.samples} images, ${classnames.length} classes${named}${skipped})`, opts.json);
}
