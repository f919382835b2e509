import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultModelDir, loadBundle } from '../../bundle/bundle.js';
import { checkSparsity, parseSparsity, type Sparsity } from '../../compress/mask.js';
import { MIN_CALIBRATION_SAMPLES, parseParts, pruneBundle, readCalibration, savePrunedBundle } from '../../compress/prune-bundle.js';
import { readCalibrationImages } from '../../compress/prune-images.js';
import { pruneClassifier } from '../../compress/prune-onnx.js';
import { checkMethod, PRUNE_METHODS, type PruneMethod } from '../../compress/prune-score.js';
import type { LayerResult } from '../../compress/prune-layer.js';
import { evalPreprocess } from '../../data/preprocess.js';
import { readOnnxInfo } from '../../deploy/onnx/read.js';
import { parseClassifierMetadata } from '../../deploy/metadata.js';
import { useAllCores, writeFileAtomic } from '../../engine/index.js';
import { integer } from '../parse.js';
import { addCsvOptions, csvColumns, type CsvCliOptions } from '../data-options.js';

interface PruneCliOptions extends CsvCliOptions {
  model?: string;
  method: string;
  sparsity?: string;
  nm?: string;
  parts?: string;
  calib?: string;
  calibN: number;
  seed: number;
  includeDepthwise?: boolean;
  output: string;
}

export function registerPrune(program: Command): void {
  addCsvOptions(program
    .command('prune')
    .description('prune a model folder or a generated classifier without retraining: Wanda (|W| x input norm) or magnitude, per-row ratio or N:M')
    .option('--model <dir|classifier.onnx>', 'a model folder (default: the shipped models/default) or a classifier written by generate')
    .option('--method <name>', `${PRUNE_METHODS.join(' or ')}`, 'wanda')
    .option('--sparsity <ratio>', 'fraction of each output row\'s weights set to zero, in [0, 1)')
    .option('--nm <N:M>', 'N:M sparsity instead: keep N of every M consecutive inputs (2:4, 4:8)')
    .option('--parts <list>', 'model folder parts to prune: text, image, hypernet (default: all three; a classifier is its image encoder)')
    .option('--calib <data>', 'calibration data for wanda: for a model folder, captioned data (flickr8k:train, shards, a CSV of image paths and captions, class folders); for a classifier, any images (also a plain folder or a .txt list of image paths)')
    .option('--calib-n <n>', 'calibration samples', integer('calib-n'), 128)
    .option('--seed <n>', 'seed of the calibration draw', integer('seed', 0), 0)
    .option('--include-depthwise', 'also prune depthwise (grouped) convolutions')
    .requiredOption('-o, --output <path>', 'the pruned model folder, or .onnx file for a classifier'))
    .addHelpText('after', '\nExamples:\n  hyperclip prune --model models/default --sparsity 0.5 --parts text --calib flickr8k:train -o runs/pruned-text\n' +
      '  hyperclip prune --model models/default --method magnitude --nm 2:4 -o runs/pruned-24\n' +
      '  hyperclip prune --model pets.onnx --sparsity 0.5 --calib my-pet-photos/ --calib-n 32 -o pets-pruned.onnx')
    .action(async (opts: PruneCliOptions) => {
      const method = checkMethod(opts.method);
      const sparsity = sparsityOf(opts);
      if (method === 'wanda' && opts.calib === undefined) throw new Error('wanda measures activations: give --calib SHARDS (e.g. flickr8k:train), or use --method magnitude');
      const target = opts.model ?? defaultModelDir();
      if (!existsSync(target)) throw new Error(`no model folder or classifier at ${target}`);
      if (path.resolve(target) === path.resolve(opts.output)) throw new Error(`-o ${opts.output} is the input: write the pruned model to a new path`);
      const progress = (r: LayerResult, i: number, total: number): void => {
        process.stderr.write(`[${i + 1}/${total}] ${r.name} ${r.skipped ? `dense (${r.skipped})` : `${(100 * r.pruned / r.total).toFixed(1)}% zero`}\n`);
      };
      if (statSync(target).isFile()) await pruneOnnx(target, method, sparsity, opts, progress);
      else await pruneFolder(target, method, sparsity, opts, progress);
    });
}

function sparsityOf(opts: PruneCliOptions): Sparsity {
  if ((opts.sparsity === undefined) === (opts.nm === undefined)) throw new Error('give exactly one of --sparsity RATIO or --nm N:M');
  if (opts.nm !== undefined) {
    const s = parseSparsity(opts.nm);
    if (s.kind !== 'nm') throw new Error(`--nm expects N:M (e.g. 2:4), received "${opts.nm}"`);
    return s;
  }
  const s = parseSparsity(opts.sparsity!);
  if (s.kind !== 'ratio') throw new Error(`--sparsity expects a ratio in [0, 1); for N:M use --nm ${opts.sparsity}`);
  return checkSparsity(s);
}

type Progress = (r: LayerResult, i: number, total: number) => void;

async function pruneFolder(dir: string, method: PruneMethod, sparsity: Sparsity, opts: PruneCliOptions, onLayer: Progress): Promise<void> {
  useAllCores();
  const bundle = loadBundle(dir);
  const parts = parseParts(opts.parts ?? (bundle.model.hypernet === null ? 'text,image' : 'text,image,hypernet'), bundle.model);
  const calibration = method === 'wanda' ? await readCalibration(bundle, opts.calib!, opts.calibN, opts.seed, csvColumns(opts)) : null;
  const record = pruneBundle(bundle, { method, sparsity, parts, calibration, includeGrouped: opts.includeDepthwise, onLayer });
  savePrunedBundle(bundle, record, opts.output);
  bundle.model.dispose();
  console.log(`${opts.output}: ${method} ${record.sparsity} on ${parts.join(', ')}, ${(100 * record.overall).toFixed(1)}% of ${record.layers.length} layers' weights zero` +
    `${record.calibration ? `, calibrated on ${record.calibration}` : ''}`);
}

async function pruneOnnx(file: string, method: PruneMethod, sparsity: Sparsity, opts: PruneCliOptions, onLayer: Progress): Promise<void> {
  if (opts.parts !== undefined && opts.parts.trim() !== 'image') {
    throw new Error(`a classifier holds only its specialised image encoder: --parts must be image (or left out), received "${opts.parts}"`);
  }
  const bytes = readFileSync(file);
  const metadata = parseClassifierMetadata(readOnnxInfo(bytes).metadata);
  const preprocess = evalPreprocess(metadata.inputSize[0], { mean: metadata.mean, std: metadata.std });
  const images = method === 'wanda' ? await readCalibrationImages(opts.calib!, opts.calibN, opts.seed, preprocess, MIN_CALIBRATION_SAMPLES, csvColumns(opts)) : null;
  const result = await pruneClassifier(bytes, {
    method, sparsity, images: images?.pixels ?? null, calibration: images?.description ?? null, includeGrouped: opts.includeDepthwise, onLayer,
  });
  writeFileAtomic(opts.output, [result.bytes]);
  console.log(`${opts.output}: ${method} ${result.record.sparsity}, ${(100 * result.record.overall).toFixed(1)}% of ${result.record.layers.length} layers' weights zero, ` +
    `${(bytes.byteLength / 1024).toFixed(0)} KB -> ${(result.bytes.byteLength / 1024).toFixed(0)} KB`);
}
