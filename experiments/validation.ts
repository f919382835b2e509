// The Tiny ImageNet validation figures of a finished model, as training's
// validation computes them (src/train/validate.ts, same seeded samples): zero-shot among
// all 202 classes on val images, among the 40 held-out names
// (src/data/held-out.ts) on their val images, and among the WordNet groups of
// the trainable classes (src/eval/tin-groups.ts). --name-phrases wordnet
// prompts every class name with its WordNet hypernym phrases as well,
// wordnet-imagenet the same from the name's first sense at or above an
// ImageNet-1k class (src/eval/name-phrases.ts). Reads no test set.
// --image-size evaluates at another input size than the model's own (test-time
// resolution: every image family here is a CNN with global pooling, so any size
// of at least one stride runs; the v2 tower, for one, was pretrained at 224 px).
//   npm run experiment:validation -- --model DIR [--limit N] [--figures tiny-imagenet,held-out,groups] [--name-phrases none|wordnet|wordnet-imagenet] [--image-size PX] [--out FILE]
// Writes runs/validation/<model folder name>[.name-phrases-<mode>][.px<size>].json; progress on stderr, one summary line per figure on stdout.
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadBundle, type Bundle } from '../src/bundle/bundle.js';
import { integer } from '../src/cli/parse.js';
import { setNumThreads } from '../src/engine/index.js';
import { percent } from '../src/eval/format.js';
import { checkNamePhrases, NAME_PHRASES, type NamePhrases } from '../src/eval/name-phrases.js';
import type { ClassScore, Confusion } from '../src/eval/zeroshot.js';
import { projectRoot } from '../src/project-root.js';
import { groupsZeroShot, heldOutZeroShot, tinyImagenetValZeroShot, type PromptedZeroShotResult, type ValidationZeroShotOptions } from '../src/train/validate.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { modelRecordPath } from './tin-groups.js';
import { writeJsonAtomic } from '../src/engine/atomic-write.js';

export const FIGURES = ['tiny-imagenet', 'held-out', 'groups'] as const;
export type Figure = typeof FIGURES[number];

interface Options { model: string; limit: number; figures: string; namePhrases: string; threads: number; imageSize?: number; out?: string }

/** One figure of the record. */
export interface FigureRecord {
  figure: Figure;
  /** Classes (or groups) scored against each other. */
  classes: number;
  samples: number;
  top1: number;
  top5: number;
  /** The binomial standard error of top1, sqrt(p (1 - p) / n). */
  top1Se: number;
  /** Prompts through the text encoder: classes x CLIP's 80 ImageNet templates, times each class's phrases with --name-phrases wordnet or wordnet-imagenet. */
  prompts: number;
  /** Per class (or group): top-1 on its images in the sample (the same images with or without phrases). */
  perClass: ClassScore[];
  /** The 10 most frequent mistakes. */
  confusions: Confusion[];
  seconds: number;
}

/** The record written to --out. */
export interface ValidationRecord {
  model: string;
  modelName: string;
  /** Images asked for per figure: a seeded sample of its val images, as validation reads them. */
  limit: number;
  namePhrases: NamePhrases;
  /** The input size the images were evaluated at, and the model's own (they differ with --image-size); absent in records written before --image-size, which used the model's own. */
  imageSize?: number;
  modelImageSize?: number;
  figures: FigureRecord[];
  command: string;
  /** When the evaluation finished (ISO 8601), and how long it took. */
  time: string;
  seconds: number;
}

const say = (text: string): void => { process.stderr.write(`validation: ${text}\n`); };

const DESCRIPTION: Record<Figure, string> = {
  'tiny-imagenet': 'tiny-imagenet val zero-shot',
  'held-out': 'held-out names zero-shot (tiny-imagenet val)',
  groups: 'tiny-imagenet val WordNet groups zero-shot',
};

/** "tiny-imagenet,groups" -> the figures, in FIGURES' order; one line for an unknown one. */
export function parseFigures(list: string): Figure[] {
  const asked = list.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (asked.length === 0) throw new Error(`--figures is empty: give some of ${FIGURES.join(', ')}`);
  const bad = asked.find((f) => !(FIGURES as readonly string[]).includes(f));
  if (bad !== undefined) throw new Error(`--figures takes ${FIGURES.join(', ')}; got "${bad}"`);
  return FIGURES.filter((f) => asked.includes(f));
}

async function figure(bundle: Bundle, which: Figure, limit: number, options: ValidationZeroShotOptions): Promise<{ result: PromptedZeroShotResult; classes: number }> {
  if (which === 'groups') {
    const result = await groupsZeroShot(bundle, limit, options);
    return { result, classes: result.groups };
  }
  const result = which === 'held-out' ? await heldOutZeroShot(bundle, limit, options) : await tinyImagenetValZeroShot(bundle, limit, options);
  return { result, classes: result.perClass.length };
}

/** The smallest input a CNN image encoder here accepts: its total stride. */
export const MIN_IMAGE_SIZE = 32;

/** The record's default path with a ".px<size>" suffix when the images are evaluated at another size than the model's. */
export function withImageSizeSuffix(out: string, imageSize: number | undefined): string {
  return imageSize === undefined ? out : out.replace(/\.json$/, `.px${imageSize}.json`);
}

async function main(opts: Options): Promise<void> {
  const namePhrases = checkNamePhrases(opts.namePhrases);
  const figures = parseFigures(opts.figures);
  const recordPath = modelRecordPath(opts.model, 'class names', { folder: 'validation', namePhrases, out: opts.out });
  const out = opts.out ?? withImageSizeSuffix(recordPath, opts.imageSize);
  setNumThreads(opts.threads);
  const started = Date.now();
  const bundle = loadBundle(opts.model);
  const modelImageSize = bundle.preprocess.size;
  if (opts.imageSize !== undefined) bundle.preprocess = { ...bundle.preprocess, size: opts.imageSize };
  const records: FigureRecord[] = [];
  try {
    for (const which of figures) {
      say(`${opts.model}: ${DESCRIPTION[which]}, ${opts.limit} images at ${bundle.preprocess.size} px (the model's own: ${modelImageSize} px), name phrases: ${namePhrases}`);
      const began = Date.now();
      let reported = 0;
      const { result, classes } = await figure(bundle, which, opts.limit, {
        workers: opts.threads, namePhrases,
        onProgress: (done) => { if (done - reported >= 100 || done >= opts.limit) { reported = done; say(`${which}: ${done}/${opts.limit} images`); } },
      });
      const p = result.top1;
      records.push({
        figure: which, classes, samples: result.samples, top1: p, top5: result.top5, top1Se: Math.sqrt((p * (1 - p)) / result.samples),
        prompts: result.prompts, perClass: result.perClass, confusions: result.confusions.slice(0, 10),
        seconds: (Date.now() - began) / 1000,
      });
    }
  } finally {
    bundle.model.dispose();
  }
  const record: ValidationRecord = {
    model: path.relative(projectRoot(), path.resolve(opts.model)) || opts.model, modelName: bundle.config.name, limit: opts.limit, namePhrases,
    imageSize: bundle.preprocess.size, modelImageSize, figures: records, command: ['npm run experiment:validation --', ...process.argv.slice(2)].join(' '),
    time: new Date().toISOString(), seconds: (Date.now() - started) / 1000,
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeJsonAtomic(out, record);
  const shown = path.relative(process.cwd(), out);
  say(`wrote ${shown.startsWith('..') || shown === '' ? path.resolve(out) : shown}`);
  for (const f of records) {
    console.log(`${record.model}: ${DESCRIPTION[f.figure]} top-1 ${percent(f.top1, { unit: true })} (SE ${percent(f.top1Se, { unit: true })}), ` +
      `top-5 ${percent(f.top5, { unit: true })} on ${f.samples} images of ${f.classes} classes at ${record.imageSize} px, name phrases ${namePhrases}`);
  }
}

export const cli = (): Command => new Command()
  .name('validation')
  .description('the Tiny ImageNet validation figures of a saved model (val zero-shot, held-out names, WordNet groups), as training\'s validation computes them')
  .requiredOption('--model <dir>', 'a hyperclip model folder (e.g. models/default)')
  .option('--limit <n>', 'val images per figure: a seeded sample, as validation reads them', integer('limit'), 1000)
  .option('--figures <list>', `some of ${FIGURES.join(', ')}`, FIGURES.join(','))
  .option(`--name-phrases <${NAME_PHRASES.join('|')}>`, 'wordnet: each class name with the WordNet hypernym phrases of its first sense; ' +
    'wordnet-imagenet: of its first sense at or above an ImageNet-1k class (src/eval/name-phrases.ts)', 'none')
  .option('--image-size <px>', 'evaluate at this input size instead of the model\'s own (test-time resolution)', integer('image-size', MIN_IMAGE_SIZE))
  .option('--threads <n>', 'libtorch and decoding threads', integer('threads'), 2)
  .option('--out <file>', 'the JSON record (default runs/validation/<model folder name>[.name-phrases-<mode>].json)');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('validation', main)).parseAsync();
