// Memory soak: the real training loop (tiny recipe, checkpoints every 100
// steps) for 1,000 steps, then onnxruntime classification of 100,000 images
// with a classifier generated from models/default, as `hyperclip classify`
// does it (sharp decode + preprocess, batches of 32). Resident memory, and
// where it sits (V8 heap, buffers, the C heap's live and kept-free bytes,
// live tensors), is sampled throughout; the figure is the slope of resident
// memory over each phase's second half.
// Writes docs/plots/soak.png and prints one JSON summary line; the samples
// go to runs/soak/samples.json as they come, so a soak cut short can still be
// summarised and plotted (--from runs/soak/samples.json).
//   HYPERCLIP_THREADS=1 npm run bench:soak                      (full counts)
//   npm run bench:soak -- --quick                               (a smoke test: 100 steps, 10,000 images, no plot)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { isEntryPoint, QUICK } from './lib/cli.js';
import type { TopLevelSpec } from 'vega-lite';
import { defaultModelDir, loadBundle } from '../src/bundle/bundle.js';
import { decodeImage } from '../src/data/images.js';
import { evalPreprocess } from '../src/data/preprocess.js';
import { resolveDataset } from '../src/data/datasets.js';
import { iterateSamples } from '../src/data/webdataset/reader.js';
import { imageMember } from '../src/data/captions.js';
import { generateClassifier } from '../src/deploy/generate.js';
import { createClassifier, classify } from '../src/deploy/runtime/classifier.js';
import { nodeOrt } from '../src/deploy/runtime/node.js';
import { runnerFactory } from '../src/deploy/runtime/ort-adapter.js';
import { SIMPLE_TEMPLATES } from '../src/data/captions.js';
import { resolveTrainConfig } from '../src/train/recipes.js';
import { train } from '../src/train/trainer.js';
import { projectRoot } from '../src/project-root.js';
import { renderPng } from '../tools/render-png.js';
import { RssRecorder, secondHalfSlope, type RssSample } from './lib/rss.js';

interface SoakOptions { steps: number; batchSize: number; images: number; plot: boolean; from?: string; only?: string; out: string }

interface SoakRecord { steps: number; batchSize: number; images: number; train: RssSample[]; classify: RssSample[] }

let samplesFile = path.join(projectRoot(), 'runs', 'soak', 'samples.json');

/** Saves what was sampled so far (a few thousand points: cheap to rewrite). */
function save(record: SoakRecord): void {
  mkdirSync(path.dirname(samplesFile), { recursive: true });
  writeFileSync(samplesFile, JSON.stringify(record) + '\n');
}

/** Saved soaks merged: the phases each file holds (one may have run training, another classification). */
function readRecords(files: string[]): SoakRecord {
  const records = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as SoakRecord);
  const withTrain = records.find((r) => r.train.length > 0) ?? records[0]!;
  const withClassify = records.find((r) => r.classify.length > 0) ?? records[0]!;
  return { ...withTrain, images: withClassify.images, classify: withClassify.classify };
}

const describe = (s: RssSample): string => `rss ${s.rssMb.toFixed(0)} MB (V8 heap ${s.heapMb?.toFixed(0)}, buffers ${s.externalMb?.toFixed(0)}, ` +
  `C heap in use ${s.mallocInUseMb?.toFixed(0)} + kept free ${s.mallocFreeMb?.toFixed(0)} MB), ${s.tensors} live tensors`;

const threads = Number(process.env.HYPERCLIP_THREADS ?? 0) || undefined;
const log = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

async function soakTraining(opts: SoakOptions, record: SoakRecord): Promise<RssSample[]> {
  const config = {
    ...resolveTrainConfig('tiny-hyperclip', undefined, { steps: opts.steps, batchSize: opts.batchSize }),
    checkpointEvery: 100, validateEvery: 0, logEvery: 50, validation: { cifar10Limit: 0, retrievalLimit: 0 },
  };
  const outDir = mkdtempSync(path.join(tmpdir(), 'hyperclip-soak-'));
  const rss = new RssRecorder();
  record.train = rss.samples;
  try {
    rss.sample(0);
    await train(config, {
      outDir, resume: false,
      reporter: {
        start: () => undefined, stop: () => undefined, message: (text) => log(text),
        step: (step, info) => {
          rss.sample(step);
          if (step % 25 === 0) save(record);
          if (step % 100 === 0) log(`train step ${step}/${opts.steps}: loss ${info.loss.toFixed(3)}, ${describe(rss.samples.at(-1)!)}`);
        },
      },
    });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return rss.samples;
}

/** The JPEG bytes of the first `count` CIFAR-10 test images, reused cyclically. */
async function realImages(count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const sample of iterateSamples(resolveDataset('cifar10', 'test').shards)) {
    const image = imageMember(sample);
    if (image) out.push(image);
    if (out.length >= count) break;
  }
  return out;
}

async function soakClassify(opts: SoakOptions, record: SoakRecord): Promise<RssSample[]> {
  const bundle = loadBundle(defaultModelDir());
  const classNames = resolveDataset('cifar10', 'test').classnames!;
  const { bytes } = generateClassifier(bundle, { classNames, templates: [...SIMPLE_TEMPLATES], output: 'softmax' });
  bundle.model.dispose();
  const open = runnerFactory(nodeOrt, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
  const classifier = await createClassifier(bytes, open);
  const [h, w] = classifier.metadata.inputSize;
  const spec = evalPreprocess(h, { mean: classifier.metadata.mean, std: classifier.metadata.std });
  const images = await realImages(1000);
  const batch = 32;
  const rss = new RssRecorder();
  record.classify = rss.samples;
  rss.sample(0);
  let agree = 0;
  for (let done = 0; done < opts.images;) {
    const size = Math.min(batch, opts.images - done);
    const pixels = new Float32Array(size * 3 * h * w);
    for (let i = 0; i < size; i++) await decodeImage(images[(done + i) % images.length]!, spec, 0, pixels, i * 3 * h * w);
    const predictions = await classify(classifier, pixels, { topk: 1, normalized: true });
    agree += predictions.length;
    done += size;
    rss.sample(done);
    if (done % 2000 < batch) save(record);
    if (done % 10000 < batch) log(`classify ${done}/${opts.images}: ${describe(rss.samples.at(-1)!)}`);
  }
  if (agree !== opts.images) throw new Error(`classified ${agree} of ${opts.images} images`);
  await classifier.runner.release();
  return rss.samples;
}

// The lines of a panel: resident memory, and where it sits when the samples say so.
const SERIES = [
  { key: 'rssMb', label: 'resident (RSS)' },
  { key: 'mallocInUseMb', label: 'C heap in use' },
  { key: 'mallocFreeMb', label: 'C heap freed, kept' },
  { key: 'heapMb', label: 'V8 heap' },
] as const;

function plotSpec(record: SoakRecord): TopLevelSpec {
  const { train, classify: images } = record;
  const panel = (samples: RssSample[], xTitle: string, title: string) => ({
    width: 360, height: 240, title: { text: title, fontSize: 12 },
    data: {
      values: samples.flatMap((s) => SERIES.filter((series) => s[series.key] !== undefined).map((series) => ({ x: s.x, mb: s[series.key], series: series.label }))),
    },
    mark: { type: 'line' as const, strokeWidth: 1.2 },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: xTitle },
      y: { field: 'mb', type: 'quantitative' as const, title: 'memory (MB)' },
      color: { field: 'series', type: 'nominal' as const, title: null, sort: SERIES.map((series) => series.label), legend: { orient: 'bottom' as const } },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Memory soak over time (2-core CPU, HYPERCLIP_THREADS=1)', fontSize: 13 },
    background: 'white', config: { font: 'DejaVu Sans', view: { stroke: null } },
    hconcat: [
      panel(train, 'training step', `tiny-hyperclip training, batch ${record.batchSize}, ${train.at(-1)?.x ?? 0} steps`),
      panel(images, 'images classified', `classify (ONNX on onnxruntime), ${images.at(-1)?.x ?? 0} images`),
    ],
  } as TopLevelSpec;
}

const positive = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
};

export const cli = (): Command => new Command('bench:soak')
  .option('--quick', `${QUICK}: 100 steps and 10,000 images, no plot`)
  .option('--steps <n>', 'training steps (default 1000, quick 100)', positive('--steps'))
  .option('--batch-size <n>', 'training batch size (the recipe uses 128; 32 keeps the soak under 10 minutes on an idle 2-core machine)', positive('--batch-size'), 32)
  .option('--images <n>', 'images to classify (default 100000, quick 10000)', positive('--images'))
  .option('--no-plot', 'skip docs/plots/soak.png')
  .option('--only <phase>', 'run one phase: train or classify')
  .option('--out <file>', 'where the samples go', samplesFile)
  .option('--from <files>', 'summarise and plot saved (possibly cut short) soaks, comma-separated, instead of running one');

async function soak(typed: Omit<SoakOptions, 'steps' | 'images'> & { quick?: boolean; steps?: number; images?: number }): Promise<void> {
  // A quick soak is a smoke test: it never replaces the documented plot.
  const opts: SoakOptions = { ...typed, steps: typed.steps ?? (typed.quick ? 100 : 1000), images: typed.images ?? (typed.quick ? 10000 : 100000), plot: typed.plot && !typed.quick };
  let record: SoakRecord;
  samplesFile = opts.out;
  if (opts.only !== undefined && opts.only !== 'train' && opts.only !== 'classify') throw new Error(`--only must be train or classify, got "${opts.only}"`);
  if (opts.from) {
    record = readRecords(opts.from.split(','));
  } else {
    record = { steps: opts.steps, batchSize: opts.batchSize, images: opts.images, train: [], classify: [] };
    log(`soak: ${opts.only === 'classify' ? 0 : opts.steps} training steps (batch ${opts.batchSize}), ${opts.only === 'train' ? 0 : opts.images} images classified; threads ${threads ?? 'all'}`);
    if (opts.only !== 'classify') await soakTraining(opts, record);
    save(record);
    if (opts.only !== 'train') await soakClassify(opts, record);
    save(record);
  }
  const result = summarise(record);
  if (opts.plot && record.train.length + record.classify.length > 0) {
    const png = path.join(projectRoot(), 'docs', 'plots', 'soak.png');
    writeFileSync(png, await renderPng(plotSpec(record)));
    log(`plot: ${png}`);
  }
  console.log(JSON.stringify(result));
}

const midpoint = (samples: RssSample[]): RssSample => samples.find((s) => s.x >= samples.at(-1)!.x / 2)!;

function summarise(record: SoakRecord) {
  const phase = (samples: RssSample[], per: number) => samples.length < 2 ? null : {
    done: samples.at(-1)!.x, minutes: samples.at(-1)!.seconds / 60, rssStartMb: samples[0]!.rssMb, rssEndMb: samples.at(-1)!.rssMb,
    rssPeakMb: Math.max(...samples.map((s) => s.rssMb)), slope: per * secondHalfSlope(samples),
    // Where the memory sits, at the second half's start and at the end.
    secondHalf: Object.fromEntries((['tensors', 'heapMb', 'externalMb', 'mallocInUseMb', 'mallocFreeMb'] as const)
      .map((key) => [key, [midpoint(samples)[key], samples.at(-1)![key]]])),
  };
  const train = phase(record.train, 1000);
  const classify = phase(record.classify, 10000);
  return {
    steps: record.steps, batchSize: record.batchSize, images: record.images,
    train: train && { ...train, slopeMbPer1000Steps: train.slope },
    classify: classify && { ...classify, slopeMbPer10000Images: classify.slope },
  };
}

if (isEntryPoint(import.meta.url)) await cli().action(soak).parseAsync(process.argv);
