// `hyperclip eval --model DIR` where DIR is a pretrained folder (hyperclip
// import): the imported network's supervised ImageNet head scored on
// imagenet-sample, on libtorch (checkpoint.safetensors) or, with --engine
// onnx, as the deployed classifier.onnx on onnxruntime. Not zero-shot: the
// head was trained on ImageNet-1k's labels.
import path from 'node:path';
import { loadPretrainedFolder, PRETRAINED_CLASSIFIER, readPretrainedInfo } from '../../bundle/pretrained.js';
import { resolveDataset } from '../../data/index.js';
import { rankWithOnnx } from '../../deploy/pretrained.js';
import { loadClassifier } from '../../deploy/runtime/node.js';
import { evaluateClassification, rankWithLabelClassifier, type RankBatch } from '../../eval/classification.js';
import { formatZeroShot } from '../../eval/report.js';
import { createProgress, printSummary } from '../progress.js';

export const EVAL_ENGINES = ['libtorch', 'onnx'] as const;
const DATASET = 'imagenet-sample';
const DATASET_IMAGES = 1000; // one per ImageNet-1k class: the progress total without --limit

export interface PretrainedEvalOptions {
  model: string;
  dataset: string;
  split?: string;
  engine: string;
  limit?: number;
  batchSize: number;
  json?: boolean;
  classnames?: string;
  corruptions?: string;
}

/** Zero-shot evaluation runs the model folder on libtorch; --engine onnx is for a pretrained folder's classifier.onnx. */
export function checkZeroShotEngine(engine: string): void {
  if (engine === 'libtorch') return;
  if (engine === 'onnx') throw new Error('--engine onnx evaluates a pretrained folder\'s classifier.onnx (from `hyperclip import`); zero-shot evaluation runs on libtorch');
  throw new Error(`--engine must be one of ${EVAL_ENGINES.join(', ')}, got "${engine}"`);
}

export async function runPretrainedEval(opts: PretrainedEvalOptions): Promise<void> {
  if (!(EVAL_ENGINES as readonly string[]).includes(opts.engine)) throw new Error(`--engine must be one of ${EVAL_ENGINES.join(', ')}, got "${opts.engine}"`);
  const info = readPretrainedInfo(opts.model);
  if (opts.dataset !== DATASET) {
    throw new Error(`${opts.model} is an imported ImageNet classifier: its head knows ImageNet-1k's 1000 classes only, so evaluate it with ` +
      `--dataset ${DATASET}; zero-shot on ${opts.dataset} needs a HyperCLIP model folder`);
  }
  if (opts.corruptions !== undefined || opts.classnames !== undefined) throw new Error(`--corruptions and --classnames apply to zero-shot models, not to ${opts.model}'s fixed ImageNet head`);
  const split = opts.split ?? 'val';
  const source = resolveDataset(DATASET, split, 'simple');
  const { rank, release } = await openRanker(opts.model, opts.engine as (typeof EVAL_ENGINES)[number], info.preprocess.size);
  const progress = createProgress(`top-1 (${opts.engine})`, opts.limit ?? DATASET_IMAGES);
  try {
    const result = await evaluateClassification(rank, { shards: source.shards, caption: source.caption }, info.classes, info.preprocess,
      { limit: opts.limit, batchSize: opts.batchSize, onProgress: (done) => progress.update(done) });
    progress.stop();
    if (opts.json) console.log(JSON.stringify({ dataset: `${DATASET} ${split}`, model: opts.model, engine: opts.engine, source: info.source.file, ...result }, null, 2));
    else console.log(formatZeroShot(result));
    printSummary(`${DATASET} ${split} top-1 of the imported ImageNet head (${info.source.file}, ${opts.engine}): ${(100 * result.top1).toFixed(2)}% ` +
      `(${result.samples} images, ${info.classes.length} classes)`, opts.json);
  } finally {
    progress.stop();
    await release();
  }
}

async function openRanker(dir: string, engine: (typeof EVAL_ENGINES)[number], size: number): Promise<{ rank: RankBatch; release: () => Promise<void> }> {
  if (engine === 'libtorch') {
    const folder = loadPretrainedFolder(dir);
    return { rank: rankWithLabelClassifier(folder.classifier), release: async () => folder.classifier.dispose() };
  }
  const classifier = await loadClassifier(path.join(dir, PRETRAINED_CLASSIFIER));
  const [h, w] = classifier.metadata.inputSize;
  if (h !== size || w !== size) {
    await classifier.runner.release();
    throw new Error(`${PRETRAINED_CLASSIFIER} takes ${h}x${w} images but pretrained.json says ${size}: import the file again`);
  }
  return { rank: rankWithOnnx(classifier), release: () => classifier.runner.release() };
}
