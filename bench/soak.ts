// Memory soak: the real training loop (tiny recipe, checkpoints every 100
// steps) for 1,000 steps, then onnxruntime classification of 100,000 images
// with a classifier generated from models/default, as `hyperclip classify`
// does it (sharp decode + preprocess, batches of 32). Resident memory is
// sampled throughout; the figure is the slope over each phase's second half.
// Writes docs/plots/soak.png and prints one JSON summary line.
//   HYPERCLIP_THREADS=1 npm run bench:soak                      (full counts)
//   npm run bench:soak -- --steps 200 --images 20000 --no-plot   (a quick look)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
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
import { renderPng } from '../experiments/lib/plots.js';
import { RssRecorder, secondHalfSlope, type RssSample } from './lib/rss.js';

interface SoakOptions { steps: number; batchSize: number; images: number; plot: boolean }

const threads = Number(process.env.HYPERCLIP_THREADS ?? 0) || undefined;
const log = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

async function soakTraining(opts: SoakOptions): Promise<RssSample[]> {
  const config = {
    ...resolveTrainConfig('tiny-hyperclip', undefined, { steps: opts.steps, batchSize: opts.batchSize }),
    checkpointEvery: 100, validateEvery: 0, logEvery: 50, validation: { cifar10Limit: 0, retrievalLimit: 0 },
  };
  const outDir = mkdtempSync(path.join(tmpdir(), 'hyperclip-soak-'));
  const rss = new RssRecorder();
  try {
    rss.sample(0);
    await train(config, {
      outDir, resume: false,
      reporter: {
        start: () => undefined, stop: () => undefined, message: (text) => log(text),
        step: (step, info) => {
          rss.sample(step);
          if (step % 100 === 0) log(`train step ${step}/${opts.steps}: loss ${info.loss.toFixed(3)}, rss ${rss.samples.at(-1)!.rssMb.toFixed(0)} MB`);
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

async function soakClassify(opts: SoakOptions): Promise<RssSample[]> {
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
    if (done % 10000 < batch) log(`classify ${done}/${opts.images}: rss ${rss.samples.at(-1)!.rssMb.toFixed(0)} MB`);
  }
  if (agree !== opts.images) throw new Error(`classified ${agree} of ${opts.images} images`);
  await classifier.runner.release();
  return rss.samples;
}

function plotSpec(train: RssSample[], images: RssSample[], opts: SoakOptions): TopLevelSpec {
  const panel = (samples: RssSample[], xTitle: string, title: string) => ({
    width: 360, height: 240, title: { text: title, fontSize: 12 },
    data: { values: samples.map((s) => ({ x: s.x, rss: s.rssMb })) },
    mark: { type: 'line' as const, strokeWidth: 1.2, color: '#1f77b4' },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: xTitle },
      y: { field: 'rss', type: 'quantitative' as const, title: 'resident memory (MB)', scale: { zero: false } },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Memory soak: resident set size over time (2-core CPU, HYPERCLIP_THREADS=1)', fontSize: 13 },
    background: 'white', config: { font: 'DejaVu Sans', view: { stroke: null } },
    hconcat: [
      panel(train, 'training step', `tiny-hyperclip training, batch ${opts.batchSize}, ${opts.steps} steps`),
      panel(images, 'images classified', `classify (ONNX, onnxruntime), ${opts.images} images`),
    ],
  } as TopLevelSpec;
}

const positive = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
};

const program = new Command('bench:soak')
  .option('--steps <n>', 'training steps', positive('--steps'), 1000)
  .option('--batch-size <n>', 'training batch size (the recipe uses 128; 32 keeps the soak near 30 minutes on 2 cores)', positive('--batch-size'), 32)
  .option('--images <n>', 'images to classify', positive('--images'), 100000)
  .option('--no-plot', 'skip docs/plots/soak.png')
  .action(async (opts: SoakOptions) => {
    const started = performance.now();
    log(`soak: ${opts.steps} training steps (batch ${opts.batchSize}), then ${opts.images} images classified; threads ${threads ?? 'all'}`);
    const trainSamples = await soakTraining(opts);
    const trainMinutes = (performance.now() - started) / 60000;
    const classifyStarted = performance.now();
    const imageSamples = await soakClassify(opts);
    const result = {
      steps: opts.steps, batchSize: opts.batchSize, images: opts.images,
      train: {
        minutes: trainMinutes, rssStartMb: trainSamples[0]!.rssMb, rssEndMb: trainSamples.at(-1)!.rssMb,
        rssPeakMb: Math.max(...trainSamples.map((s) => s.rssMb)), slopeMbPer1000Steps: 1000 * secondHalfSlope(trainSamples),
      },
      classify: {
        minutes: (performance.now() - classifyStarted) / 60000, rssStartMb: imageSamples[0]!.rssMb, rssEndMb: imageSamples.at(-1)!.rssMb,
        rssPeakMb: Math.max(...imageSamples.map((s) => s.rssMb)), slopeMbPer10000Images: 10000 * secondHalfSlope(imageSamples),
      },
    };
    const dir = path.join(projectRoot(), 'runs', 'soak');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'samples.json'), JSON.stringify({ result, train: trainSamples, classify: imageSamples }) + '\n');
    if (opts.plot) {
      const png = path.join(projectRoot(), 'docs', 'plots', 'soak.png');
      writeFileSync(png, await renderPng(plotSpec(trainSamples, imageSamples, opts)));
      log(`plot: ${png}`);
    }
    console.log(JSON.stringify(result));
  });

await program.parseAsync(process.argv);
