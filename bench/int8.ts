// float32 vs int8 (hyperclip generate --int8) on the shipped model: file
// size, onnxruntime-node latency at batch 1 and 64, and zero-shot top-1 on
// the CIFAR-10 test set with CLIP's CIFAR-10 templates, counted by the loop
// `hyperclip eval` uses (evaluateClassification). The int8 classifier is
// calibrated on CIFAR-10 *train* images (or any --calib data), never on the
// test images. Appends one JSON line to runs/bench/int8.jsonl.
//   npm run bench:int8 -- --quick            (a smoke test: 200 test images, 32 calibration images)
//   npm run bench:int8                        (all 10,000 test images, 256 calibration images)
//   npm run bench:int8 -- --bias-correction off --float-layers none   (the quantization before issue 29)
import { Command } from 'commander';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { appendRecord, host } from './lib/records.js';
import { median } from '../tools/stats.js';
import { timeInterleavedSamples } from '../tools/timing.js';
import { defaultModelDir, loadBundle } from '../src/bundle/bundle.js';
import { resolveData, type ResolvedData } from '../src/data/index.js';
import { evalPreprocess, type PreprocessSpec } from '../src/data/preprocess.js';
import { generateClassifier } from '../src/deploy/generate.js';
import { rankWithOnnx } from '../src/deploy/pretrained.js';
import { readCalibrationSet } from '../src/deploy/quantize/calibration-images.js';
import { FLOAT_LAYERS, quantizeClassifier, type FloatLayers } from '../src/deploy/quantize/quantize.js';
import { createClassifier, type Classifier } from '../src/deploy/runtime/classifier.js';
import { openRunner } from '../src/deploy/runtime/node.js';
import { evaluateClassification, type RankBatch } from '../src/eval/classification.js';
import { resolveTemplates } from '../src/eval/templates.js';
import { useAllCores } from '../src/engine/index.js';

interface Int8BenchOptions { quick?: boolean; model?: string; calib: string; calibN?: string; biasCorrection: string; floatLayers: string; limit?: string; runs?: string }

export const cli = (): Command => new Command('bench:int8')
  .option('--quick', QUICK)
  .option('--model <dir>', 'the model folder (default: models/default)')
  .option('--calib <data>', 'calibration images: any data hyperclip reads, never the CIFAR-10 test split (e.g. tiny-imagenet:train)', 'cifar10:train')
  .option('--calib-n <n>', 'calibration images (default 256, quick 32)')
  .option('--bias-correction <on|off>', 'generate --int8 --bias-correction', 'on')
  .option('--float-layers <stem|none>', 'generate --int8 --float-layers', 'stem')
  .option('--limit <n>', 'CIFAR-10 test images scored (default all 10,000, quick 200)')
  .option('--runs <n>', 'timed batch-1 runs per classifier (default 200, quick 20)');

const positive = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
};

/** Ranks like rankWithOnnx and keeps each image's top class, so two classifiers' predictions can be compared image by image. */
function recording(rank: RankBatch, top1: number[]): RankBatch {
  return async (pixels, shape, k) => {
    const ranked = await rank(pixels, shape, k);
    for (let i = 0; i < shape[0]; i++) top1.push(ranked[i * k]!);
    return ranked;
  };
}

export interface ScoredClassifier {
  top1: number;
  top5: number;
  samples: number;
  /** Each scored image's top class, in reading order. */
  predictions: number[];
}

/** A classifier's CIFAR-10 test accuracy, counted by `hyperclip eval`'s loop, with its top class per image (the same seeded sample of `limit` images every call). */
export async function scoreClassifier(classifier: Classifier, test: ResolvedData, preprocess: PreprocessSpec, limit: number | undefined): Promise<ScoredClassifier> {
  const predictions: number[] = [];
  const result = await evaluateClassification(recording(rankWithOnnx(classifier), predictions), test.source, test.classnames!, preprocess, { limit });
  return { top1: result.top1, top5: result.top5, samples: result.samples, predictions };
}

/** The share of images two scorings of the same images put in the same top class. */
export function top1Agreement(a: number[], b: number[]): { agreement: number; scored: number } {
  const scored = Math.min(a.length, b.length);
  return { agreement: a.slice(0, scored).filter((c, i) => c === b[i]).length / scored, scored };
}

async function main(): Promise<void> {
  const opts = cli().parse().opts<Int8BenchOptions>();
  const calibN = positive('calib-n', opts.calibN ?? (opts.quick ? '32' : '256'));
  const limit = opts.limit !== undefined ? positive('limit', opts.limit) : opts.quick ? 200 : undefined;
  const runs = positive('runs', opts.runs ?? (opts.quick ? '20' : '200'));
  if (!['on', 'off'].includes(opts.biasCorrection)) throw new Error(`--bias-correction must be on or off, got "${opts.biasCorrection}"`);
  if (!FLOAT_LAYERS.includes(opts.floatLayers as FloatLayers)) throw new Error(`--float-layers must be ${FLOAT_LAYERS.join(' or ')}, got "${opts.floatLayers}"`);
  useAllCores();
  const test = resolveData('cifar10', { split: 'test', need: 'labels' });
  const calibData = resolveData(opts.calib, { need: 'images' });
  if (calibData.name === test.name) throw new Error(`--calib ${opts.calib} is the evaluated test split: calibrate on other images (cifar10:train, tiny-imagenet:train)`);
  const modelDir = opts.model ?? defaultModelDir();
  const bundle = loadBundle(modelDir);
  const templates = resolveTemplates('clip', test.clipTemplates);
  console.log(`model ${bundle.config.name} (${modelDir}); CIFAR-10 test, ${templates.length} CLIP templates; calibration: ${calibN} images of ${calibData.name}; bias correction ${opts.biasCorrection}, float layers ${opts.floatLayers}`);

  const float = generateClassifier(bundle, { classNames: test.classnames!, templates, output: 'softmax' });
  bundle.model.dispose();
  const preprocess = evalPreprocess(float.metadata.inputSize[0], { mean: float.metadata.mean, std: float.metadata.std });
  const calibration = await readCalibrationSet(calibData, calibN, preprocess);
  const started = performance.now();
  const int8 = await quantizeClassifier(float.bytes, {
    images: calibration.pixels, calibration: calibration.description, open: openRunner,
    biasCorrection: opts.biasCorrection === 'on', floatLayers: opts.floatLayers as FloatLayers,
  });
  const quantizeSeconds = (performance.now() - started) / 1000;
  console.log(`float32 ${(float.bytes.byteLength / 1024).toFixed(0)} KB, int8 ${(int8.bytes.byteLength / 1024).toFixed(0)} KB; quantized in ${quantizeSeconds.toFixed(1)} s (${calibration.description})`);

  const classifiers: Record<'float32' | 'int8', Classifier> = {
    float32: await createClassifier(float.bytes, openRunner), int8: await createClassifier(int8.bytes, openRunner),
  };
  try {
    const top1: Record<string, number[]> = {};
    const accuracy: Record<string, { top1: number; top5: number; samples: number }> = {};
    for (const [name, classifier] of Object.entries(classifiers)) {
      const { predictions, ...result } = await scoreClassifier(classifier, test, preprocess, limit);
      top1[name] = predictions;
      accuracy[name] = result;
      console.log(`${name}: CIFAR-10 test top-1 ${(100 * result.top1).toFixed(2)}%, top-5 ${(100 * result.top5).toFixed(2)}% (${result.samples} images)`);
    }
    const { agreement, scored } = top1Agreement(top1.float32!, top1.int8!);

    const size = preprocess.size, per = 3 * size * size;
    const batch = new Float32Array(64 * per);
    for (let i = 0; i < 64; i++) batch.set(calibration.pixels.subarray((i % calibration.count) * per, (i % calibration.count + 1) * per), i * per);
    const feed = (n: number) => ({ data: batch.subarray(0, n * per), dims: [n, 3, size, size] });
    const call = (c: Classifier, n: number) => () => c.runner.run({ [c.inputName]: feed(n) });
    const b1 = await timeInterleavedSamples({ float32: call(classifiers.float32, 1), int8: call(classifiers.int8, 1) }, runs, 10);
    const b64 = await timeInterleavedSamples({ float32: call(classifiers.float32, 64), int8: call(classifiers.int8, 64) }, Math.max(3, Math.round(runs / 10)), 2);
    const ms = (s: number) => Number((s * 1000).toFixed(3));
    const latency = Object.fromEntries(['float32', 'int8'].map((k) => [k, { batch1Ms: ms(median(b1[k]!)), batch64MsPerImage: ms(median(b64[k]!) / 64) }]));
    for (const [k, v] of Object.entries(latency)) console.log(`${k}: batch 1 ${v.batch1Ms} ms, batch 64 ${v.batch64MsPerImage} ms per image (medians)`);

    const record = {
      bench: 'int8', date: new Date().toISOString(), quick: opts.quick === true, host: host(),
      model: { name: bundle.config.name, dir: modelDir }, evaluation: { dataset: test.name, templates: templates.length, limit: limit ?? null },
      calibration: { data: calibData.name, images: calibration.count, skipped: calibration.skipped, seconds: Number(quantizeSeconds.toFixed(2)) },
      quantization: int8.record,
      bytes: { float32: float.bytes.byteLength, int8: int8.bytes.byteLength, ratio: Number((int8.bytes.byteLength / float.bytes.byteLength).toFixed(4)) },
      accuracy, top1Agreement: Number(agreement.toFixed(4)), latency, timedRuns: { batch1: runs, batch64: Math.max(3, Math.round(runs / 10)) },
    };
    console.log(`top-1 agreement float32 vs int8: ${(100 * agreement).toFixed(2)}% of ${scored} images; size ratio ${record.bytes.ratio}`);
    console.log(`record appended to ${appendRecord('int8', record)}`);
  } finally {
    await Promise.all(Object.values(classifiers).map((c) => c.runner.release()));
  }
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:int8: ${error.message}`);
  process.exit(1);
});
