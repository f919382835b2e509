// Pruning a HyperCLIP model folder: which layers each part holds, the
// calibration data (real image-caption samples: captions for the text
// encoder, caption sets for the hypernetwork, images for the image encoder),
// and the record the pruned folder keeps. The pruning itself is the
// engine-level pruner (prune-module.ts).
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { saveBundle, type Bundle } from '../bundle/bundle.js';
import { MODEL_FILES } from '../models/folder-layout.js';
import { createLoader, resolveData, type CsvColumns } from '../data/index.js';
import { F, tensor, type Tensor } from '../engine/index.js';
import { tokenize } from '../eval/text-features.js';
import type { HyperClip } from '../models/index.js';
import { describeSparsity, type Sparsity } from './mask.js';
import type { LayerResult } from './prune-layer.js';
import { findPrunableLayers, pruneLayers, type CalibrationBatch, type PrunableLayer } from './prune-module.js';
import type { PruneMethod } from './prune-score.js';

export type PrunePart = 'text' | 'image' | 'hypernet';
export const PRUNE_PARTS: readonly PrunePart[] = ['text', 'image', 'hypernet'];
export const MIN_CALIBRATION_SAMPLES = 8;

/** "text,image" -> the parts, checked against the model. */
export function parseParts(text: string, model: HyperClip): PrunePart[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`--parts is empty: give one or more of ${PRUNE_PARTS.join(', ')}`);
  for (const p of parts) {
    if (!(PRUNE_PARTS as readonly string[]).includes(p)) throw new Error(`unknown part "${p}": the parts are ${PRUNE_PARTS.join(', ')}`);
  }
  if (parts.includes('hypernet') && model.hypernet === null) {
    throw new Error(`this model (${model.config.name}) has no hypernetwork: choose --parts from text, image`);
  }
  return [...new Set(parts)] as PrunePart[];
}

/** The prunable layers of the chosen parts, named by their path in the model. */
export function partLayers(model: HyperClip, parts: readonly PrunePart[], includeGrouped = false): PrunableLayer[] {
  const layers: PrunableLayer[] = [];
  if (parts.includes('text')) layers.push(...findPrunableLayers(model.textEncoder, { prefix: 'textEncoder' }));
  if (parts.includes('hypernet') && model.hypernet !== null) layers.push(...findPrunableLayers(model.hypernet, { prefix: 'hypernet', includeGrouped }));
  if (parts.includes('image')) {
    layers.push(...findPrunableLayers(model.imageEncoder, { prefix: 'imageEncoder', includeGrouped }));
    layers.push({ name: 'imageProjection', layer: model.imageProjection });
  }
  return layers;
}

export interface CalibrationData {
  /** [N, 3, H, W] preprocessed as the model evaluates. */
  images: Float32Array;
  shape: [number, number, number, number];
  captions: string[];
  /** What was read: the shards and the seeded draw. */
  description: string;
}

/** A seeded draw of n image-caption samples: a named split ("flickr8k:train"), shards, a CSV of pairs or class folders (resolveData). */
export async function readCalibration(bundle: Bundle, spec: string, n: number, seed: number, csv?: CsvColumns): Promise<CalibrationData> {
  if (!Number.isInteger(n) || n < MIN_CALIBRATION_SAMPLES) {
    throw new Error(`too few calibration samples: --calib-n is ${n}, at least ${MIN_CALIBRATION_SAMPLES} are needed to measure activation norms`);
  }
  const { source } = resolveData(spec, { need: 'captions', csv });
  const loader = createLoader({ sources: [source], batchSize: n, preprocess: bundle.preprocess, shuffle: true, epochs: 1, shuffleBuffer: 2000, seed, workers: 0 });
  try {
    for await (const batch of loader) {
      if (batch.size < n) break;
      return { images: batch.images, shape: [batch.size, 3, batch.height, batch.width], captions: batch.captions, description: `${n} samples of ${spec}, seed ${seed}` };
    }
  } finally {
    await loader.close();
  }
  throw new Error(`too few calibration samples: ${spec} holds fewer than the ${n} asked for by --calib-n (${loader.skips.summary()})`);
}

// Calibration sets up to this size run as one batch, which lets the
// sequential Wanda prune in a single forward (prune-module.ts).
const CALIBRATION_BATCH = 256;

/**
 * One closure per batch that runs what a training step runs forward: the
 * captions through the text encoder, groups of them as tasks through the
 * hypernetwork, and the images through the conditioned image encoder.
 */
export function calibrationBatches(model: HyperClip, bundle: Bundle, data: CalibrationData, batchSize = CALIBRATION_BATCH): { batches: CalibrationBatch[]; dispose: () => void } {
  const group = model.config.hypernet?.groupSize ?? 1;
  const perBatch = Math.max(group, batchSize - (batchSize % group));
  const usable = data.captions.length - (data.captions.length % group);
  if (usable === 0) throw new Error(`too few calibration samples: the hypernetwork reads tasks of ${group} captions, give --calib-n ${group} or more`);
  const [, C, H, W] = data.shape;
  const owned: Tensor[] = [];
  const batches: CalibrationBatch[] = [];
  for (let start = 0; start < usable; start += perBatch) {
    const size = Math.min(perBatch, usable - start);
    const ids = tokenize(bundle.tokenizer, data.captions.slice(start, start + size));
    const images = tensor(data.images.subarray(start * C * H * W, (start + size) * C * H * W), [size, C, H, W]);
    owned.push(ids, images);
    batches.push(() => {
      const text = F.normalize(model.encodeText(ids), -1); // [B, E]
      const norms = model.hypernet === null ? undefined : model.generateNormParams(text.reshape([size / group, group, model.config.embedDim]));
      model.encodeImage(images, norms);
    });
  }
  return { batches, dispose: () => { for (const t of owned) t.dispose(); } };
}

export interface PruneRecord {
  method: PruneMethod;
  sparsity: string;
  parts: PrunePart[];
  calibration: string | null;
  /** Zeros over all weights of the pruned layers. */
  overall: number;
  layers: { name: string; shape: number[]; sparsity: number; skipped?: string }[];
}

export interface PruneBundleOptions {
  method: PruneMethod;
  sparsity: Sparsity;
  parts: PrunePart[];
  calibration: CalibrationData | null;
  /** Also depthwise and grouped convolutions. */
  includeGrouped?: boolean;
  onLayer?: (result: LayerResult, index: number, total: number) => void;
}

/** Prunes the bundle's model in place and says what was done. */
export function pruneBundle(bundle: Bundle, options: PruneBundleOptions): PruneRecord {
  const layers = partLayers(bundle.model, options.parts, options.includeGrouped ?? false);
  let results: LayerResult[];
  if (options.method === 'wanda') {
    if (options.calibration === null) throw new Error('wanda needs calibration data: give --calib SHARDS');
    const { batches, dispose } = calibrationBatches(bundle.model, bundle, options.calibration);
    try {
      results = pruneLayers(layers, { method: options.method, sparsity: options.sparsity, calibration: batches, onLayer: options.onLayer });
    } finally {
      dispose();
    }
  } else {
    results = pruneLayers(layers, { method: options.method, sparsity: options.sparsity, onLayer: options.onLayer });
  }
  const total = results.reduce((n, r) => n + r.total, 0);
  return {
    method: options.method, sparsity: describeSparsity(options.sparsity), parts: options.parts,
    calibration: options.method === 'wanda' ? options.calibration!.description : null,
    overall: results.reduce((n, r) => n + r.pruned, 0) / Math.max(1, total),
    layers: results.map((r) => ({ name: r.name, shape: r.shape, sparsity: r.pruned / r.total, ...(r.skipped ? { skipped: r.skipped } : {}) })),
  };
}

/**
 * Writes the pruned folder: weights with the pruned layers stored sparse,
 * the record in config.json (extra.pruning) and a section in the card.
 */
export function savePrunedBundle(bundle: Bundle, record: PruneRecord, dir: string): void {
  if (path.resolve(dir) === path.resolve(bundle.dir)) throw new Error(`-o ${dir} is the input folder: write the pruned model to a new folder`);
  const previous = Array.isArray(bundle.extra.pruning) ? bundle.extra.pruning : bundle.extra.pruning ? [bundle.extra.pruning] : [];
  const sparse = record.layers.filter((l) => l.sparsity > 0).map((l) => `${l.name}.weight`);
  saveBundle(dir, bundle.model, bundle.tokenizer, { ...bundle.extra, pruning: previous.length ? [...previous, record] : record }, { sparse });
  const card = path.join(bundle.dir, MODEL_FILES.card);
  const section = `\n## Pruned (hyperclip prune)\n\n${record.method}, sparsity ${record.sparsity} per output row, parts ${record.parts.join(', ')}, ` +
    `no retraining; ${(100 * record.overall).toFixed(1)}% of the pruned layers' weights are zero. Calibration: ${record.calibration ?? 'none (magnitude)'}. ` +
    'Per-layer sparsity: `config.json` extra.pruning. Accuracy of a pruned model is not the source model\'s: evaluate it.\n';
  if (existsSync(card)) copyFileSync(card, path.join(dir, MODEL_FILES.card));
  writeFileSync(path.join(dir, MODEL_FILES.card), (existsSync(card) ? '' : `# ${bundle.config.name}, pruned\n`) + section, { flag: 'a' });
}
