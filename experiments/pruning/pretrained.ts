// The pruning experiment's pretrained mode (issue 29): Wanda against
// magnitude on the image encoder of an ImageNet-trained network, a network
// worth compressing, with no retraining, checked through its own dense
// 1000-class head by top-1 on imagenet-sample. The network is a pretrained
// folder (`hyperclip import`), or a .tflite file imported once into
// <out>/pretrained/. The pruning is src/compress/prune-module.ts's (every
// dense convolution of the encoder; depthwise ones stay dense, as in the
// grid); Wanda is calibrated on unlabelled images that are not the evaluated
// ones. The scoring is `hyperclip eval --model DIR --dataset
// imagenet-sample`'s: its sample, its libtorch ranking and
// src/eval/scoring.ts's counting, with the images decoded once.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { isPretrainedFolder, loadPretrainedFolder, PRETRAINED_CHECKPOINT, readPretrainedInfo } from '../../src/bundle/pretrained.js';
import { dataRoot, resolveData, resolveDataset, type CaptionSource } from '../../src/data/index.js';
import { MIN_CALIBRATION_SAMPLES } from '../../src/compress/prune-bundle.js';
import { readCalibrationImages, type CalibrationImages } from '../../src/compress/prune-images.js';
import { parseSparsity } from '../../src/compress/mask.js';
import { findPrunableLayers, pruneLayers, type CalibrationBatch } from '../../src/compress/prune-module.js';
import type { PruneMethod } from '../../src/compress/prune-score.js';
import { importPretrained } from '../../src/deploy/pretrained.js';
import { noGrad, tensor, type Tensor } from '../../src/engine/index.js';
import { rankWithLabelClassifier, scoreClassification, type RankBatch } from '../../src/eval/classification.js';
import { percent } from '../../src/eval/format.js';
import type { LabelClassifier } from '../../src/models/label-classifier.js';
import { host } from '../../tools/host.js';
import { decodeLabelled, labelledBatches, type LabelledImages } from './evaluation.js';
import { packHits } from './hits.js';
import type { ImagenetRecord, ResultRecord } from './records.js';

export const EVALUATED = 'imagenet-sample';
export const DEFAULT_CALIBRATION_DATA = 'tiny-imagenet:train';

export interface PretrainedRun {
  /** A .tflite file or a pretrained folder. */
  pretrained: string;
  out: string;
  /** imagenet-sample images to evaluate (1000: all). */
  limit: number;
  draws: number;
  calibN: number;
  calibData: string;
  levels: string[];
  command: string;
}

type Point = Pick<ImagenetRecord, 'method' | 'level' | 'draw'>;
type Key = Pick<ImagenetRecord, 'modelCrc' | 'limit' | 'calibData' | 'calibN'>;

const samePoint = (r: ResultRecord, key: Key, p: Point): boolean =>
  r.kind === 'imagenet' && r.modelCrc === key.modelCrc && r.limit === key.limit && r.method === p.method && r.level === p.level && r.draw === p.draw &&
  (r.method !== 'wanda' || (r.calibData === key.calibData && r.calibN === key.calibN));

/** A pretrained folder as given, or a .tflite file imported into <out>/pretrained/<name>/ once (the same file gives the same checkpoint). */
export function pretrainedFolder(spec: string, out: string, say: (text: string) => void): string {
  if (!existsSync(spec)) throw new Error(`--pretrained ${spec}: no such file or folder (give a .tflite of ../shared/data/pretrained or a folder made by \`hyperclip import\`)`);
  if (statSync(spec).isDirectory()) {
    readPretrainedInfo(spec);
    return spec;
  }
  if (!spec.endsWith('.tflite')) throw new Error(`--pretrained ${spec}: expected a .tflite file or a folder made by \`hyperclip import\``);
  const dir = path.join(out, 'pretrained', path.basename(spec, '.tflite'));
  if (isPretrainedFolder(dir)) {
    const sha256 = createHash('sha256').update(readFileSync(spec)).digest('hex');
    if (readPretrainedInfo(dir).source.sha256 !== sha256) throw new Error(`${dir} holds an import of another ${path.basename(spec)}: remove that folder to import this file`);
    return dir;
  }
  say(`importing ${spec} into ${dir}...`);
  importPretrained(spec, dir, { onStep: say });
  return dir;
}

/** Wanda must not see the images it is judged on: calibration data that reads imagenet-sample is refused. */
export function checkCalibrationData(spec: string): void {
  const { source } = resolveData(spec, { need: 'images' });
  const evaluated = path.resolve(dataRoot(), EVALUATED) + path.sep;
  const read = [...[source.shards ?? []].flat(), ...(source.files?.files.map((f) => f.path) ?? [])];
  if (read.some((p) => path.resolve(p).startsWith(evaluated))) {
    throw new Error(`--calib-data ${spec} reads ${EVALUATED}, the evaluated images: calibrate on other unlabelled images (e.g. tiny-imagenet:train or cifar10:train)`);
  }
}

// Calibration images per forward, bounded in pixels: a forward under tidy()
// holds every activation until it returns (MobileNet v2 at 224 px: tens of
// MB per image). Up to this many the sequential Wanda prunes in one forward.
const CALIBRATION_PIXELS = 32 * 224 * 224;

function calibrationBatches(encoder: { forward(images: Tensor): Tensor }, images: CalibrationImages, size: number): { batches: CalibrationBatch[]; dispose: () => void } {
  const per = 3 * size * size;
  const chunk = Math.max(1, Math.floor(CALIBRATION_PIXELS / (size * size)));
  const owned: Tensor[] = [];
  for (let start = 0; start < images.count; start += chunk) {
    const m = Math.min(chunk, images.count - start);
    owned.push(tensor(images.pixels.subarray(start * per, (start + m) * per), [m, 3, size, size]));
  }
  return { batches: owned.map((t) => () => { encoder.forward(t); }), dispose: () => { for (const t of owned) t.dispose(); } };
}

/** The head's top-1 and top-5 as `hyperclip eval` counts them, and which images it got right. */
async function imagenetScores(classifier: LabelClassifier, data: LabelledImages, classNames: string[]): Promise<Pick<ImagenetRecord, 'top1' | 'top5' | 'samples' | 'hits'>> {
  const ranked = rankWithLabelClassifier(classifier);
  const best: number[] = [];
  const rank: RankBatch = async (pixels, shape, k) => {
    const classes = await ranked(pixels, shape, k); // [N * k], best first
    for (let i = 0; i < shape[0]; i++) best.push(classes[i * k]!);
    return classes;
  };
  const scores = await scoreClassification(rank, labelledBatches(data), classNames);
  const hits = Array.from(data.labels, (label, i) => best[i] === label);
  if (hits.filter(Boolean).length !== Math.round(scores.top1 * scores.samples)) throw new Error('the per-image hits disagree with the counted top-1');
  return { top1: scores.top1, top5: scores.top5, samples: scores.samples, hits: packHits(hits) };
}

/** Runs the points not yet in `results` (resuming a stopped run); `record` appends each as it comes. */
export async function runPretrained(run: PretrainedRun, results: ResultRecord[], record: (r: ResultRecord) => void,
  say: (text: string) => void, report: () => Promise<void>): Promise<void> {
  for (const level of run.levels) parseSparsity(level);
  checkCalibrationData(run.calibData);
  const dir = pretrainedFolder(run.pretrained, run.out, say);
  const modelCrc = crc32(readFileSync(path.join(dir, PRETRAINED_CHECKPOINT)));
  const key: Key = { modelCrc, limit: run.limit, calibData: run.calibData, calibN: run.calibN };
  // The points the targets read come first (0.5 and 2:4), so a stopped run has them.
  const levels = [...run.levels.filter((l) => l === '0.5' || l === '2:4'), ...run.levels.filter((l) => l !== '0.5' && l !== '2:4')];
  const plan: Point[] = [{ method: 'dense', level: '0', draw: 0 }];
  for (let draw = 0; draw < run.draws; draw++) for (const level of levels) {
    plan.push({ method: 'wanda', level, draw });
    if (draw === 0) plan.push({ method: 'magnitude', level, draw: 0 });
  }
  const todo = plan.filter((p) => !results.some((r) => samePoint(r, key, p)));
  say(`${path.basename(dir)}: ${plan.length} points, ${plan.length - todo.length} already recorded, ${todo.length} to run`);
  if (todo.length === 0) return;
  record({ kind: 'host', modelCrc, at: new Date().toISOString(), command: run.command, threads: 1, ...host() });

  const folder = loadPretrainedFolder(dir);
  const classifier = folder.classifier;
  const dense = noGrad(() => new Map([...classifier.stateDict()].map(([name, t]) => [name, t.clone()])));
  const calibrations = new Map<number, CalibrationImages>();
  try {
    say(`decoding ${EVALUATED} (${run.limit} images at ${folder.preprocess.size} px)...`);
    const source = resolveDataset(EVALUATED, 'val', 'simple');
    const data = await decodeLabelled(EVALUATED, { shards: source.shards }, source.caption as Extract<CaptionSource, { kind: 'label' }>, folder.preprocess, run.limit);
    if (data.labels.length < run.limit) throw new Error(`--limit ${run.limit} asks for more than the ${data.labels.length} images of ${EVALUATED}`);
    for (const draw of new Set(todo.filter((p) => p.method === 'wanda').map((p) => p.draw))) {
      calibrations.set(draw, await readCalibrationImages(run.calibData, run.calibN, draw, folder.preprocess, MIN_CALIBRATION_SAMPLES));
    }
    const layers = findPrunableLayers(classifier.imageEncoder, { prefix: 'imageEncoder' });
    for (const [i, p] of todo.entries()) {
      const started = performance.now();
      classifier.loadStateDict(dense);
      let overall = 0;
      if (p.method !== 'dense') {
        const calibration = p.method === 'wanda' ? calibrationBatches(classifier.imageEncoder, calibrations.get(p.draw)!, folder.preprocess.size) : null;
        try {
          const pruned = pruneLayers(layers, { method: p.method as PruneMethod, sparsity: parseSparsity(p.level), calibration: calibration?.batches });
          overall = pruned.reduce((n, r) => n + r.pruned, 0) / pruned.reduce((n, r) => n + r.total, 0);
        } finally {
          calibration?.dispose();
        }
      }
      const scores = await imagenetScores(classifier, data, folder.classNames);
      const seconds = (performance.now() - started) / 1000;
      record({ kind: 'imagenet', ...key, source: folder.source.file, calibData: run.calibData, calibN: run.calibN, ...p, ...scores, overall, seconds });
      say(`[${i + 1}/${todo.length}] ${p.method} ${p.level} draw ${p.draw}: ImageNet top-1 ${percent(scores.top1, { digits: 1, unit: true })} ` +
        `on ${scores.samples} images, ${percent(overall, { digits: 1, unit: true })} of the pruned layers' weights zero (${seconds.toFixed(0)} s)`);
      if ((i + 1) % 4 === 0) await report();
    }
  } finally {
    for (const t of dense.values()) t.dispose();
    classifier.dispose();
  }
}
