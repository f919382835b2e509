// Pruned classifiers as deployed: the dense CIFAR-10 classifier generated
// from the model, pruned as an ONNX file with 64 unlabelled CIFAR-10 train
// images (the user's-own-task path of `hyperclip prune CLASSIFIER.onnx`),
// then its file size, onnxruntime latency on one thread and top-1 on the
// evaluation images.
import type { Bundle } from '../../src/bundle/bundle.js';
import { parseSparsity } from '../../src/compress/mask.js';
import { readCalibrationImages } from '../../src/compress/prune-images.js';
import { pruneClassifier } from '../../src/compress/prune-onnx.js';
import { generateClassifier } from '../../src/deploy/generate.js';
import { scoreClassification, topkRows, type RankBatch } from '../../src/eval/classification.js';
import { percent } from '../../src/eval/format.js';
import { timing } from '../../tools/timing.js';
import { labelledBatches, type LabelledImages } from './evaluation.js';
import { openOneThread } from './onnx-embedder.js';
import type { ClassifierRow } from './records.js';

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Unlabelled CIFAR-10 train images that calibrate Wanda on a classifier. */
export const CLASSIFIER_CALIBRATION_IMAGES = 64;

async function measure(bytes: Uint8Array, data: LabelledImages): Promise<Pick<ClassifierRow, 'top1' | 'latencyMs' | 'latencyQuartilesMs' | 'latencyRuns' | 'imagesPerSecond'>> {
  const runner = await openOneThread(bytes);
  const size = data.size, per = 3 * size * size;
  try {
    const rank: RankBatch = async (pixels, shape, k) => topkRows((await runner.run({ image: { data: pixels, dims: shape } }))[runner.outputNames[0]!]!.data as Float32Array, shape[0], k);
    const { top1 } = await scoreClassification(rank, labelledBatches(data), data.classnames);
    const one = { image: { data: data.pixels.subarray(0, per), dims: [1, 3, size, size] } };
    for (let i = 0; i < 20; i++) await runner.run(one);
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      await runner.run(one);
      times.push(performance.now() - t);
    }
    const batch = { image: { data: data.pixels.subarray(0, 64 * per), dims: [64, 3, size, size] } };
    const batchTimes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await runner.run(batch);
      batchTimes.push(performance.now() - t);
    }
    const t = timing(times);
    return { top1, latencyMs: median(times), latencyQuartilesMs: [t.q1, t.q3], latencyRuns: t.n, imagesPerSecond: 64 / (median(batchTimes) / 1000) };
  } finally {
    await runner.release();
  }
}

export async function measureClassifiers(bundle: Bundle, data: LabelledImages, levels: string[], say: (text: string) => void): Promise<ClassifierRow[]> {
  const dense = generateClassifier(bundle, { classNames: data.classnames, templates: data.templates, output: 'logits' }).bytes;
  const calibration = await readCalibrationImages('cifar10:train', CLASSIFIER_CALIBRATION_IMAGES, 0, bundle.preprocess, 8);
  const rows: ClassifierRow[] = [{ method: 'dense', level: '0', bytes: dense.byteLength, overall: 0, ...(await measure(dense, data)) }];
  for (const level of levels) {
    for (const method of ['wanda', 'magnitude'] as const) {
      const { bytes, record } = await pruneClassifier(dense, { method, sparsity: parseSparsity(level), images: method === 'wanda' ? calibration.pixels : null, calibration: calibration.description });
      const row: ClassifierRow = { method, level, bytes: bytes.byteLength, overall: record.overall, ...(await measure(bytes, data)) };
      say(`  classifier ${method} ${level}: ${(row.bytes / 1024).toFixed(0)} KB, top-1 ${percent(row.top1, { digits: 1, unit: true })}, ${row.latencyMs.toFixed(2)} ms/image, ${row.imagesPerSecond.toFixed(0)} images/s`);
      rows.push(row);
    }
  }
  return rows;
}
