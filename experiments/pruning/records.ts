// What the pruning experiment appends to <out>/results.jsonl, one JSON line
// each, keyed by the model file's CRC-32: the run's host, the per-layer
// check, the pruned classifiers and the grid points; in the pretrained mode,
// the imported network's points (keyed by its checkpoint's CRC-32). The entry script writes
// them and the report reads them; both import them from here.
import type { PrunePart } from '../../src/compress/prune-bundle.js';
import type { PruneMethod } from '../../src/compress/prune-score.js';
import type { Host } from '../../tools/host.js';

/** One model's zero-shot top-1 on CIFAR-10 and CIFAR-100 test and its Flickr8k test R@1 both ways. */
export interface Scores { cifar10: number; cifar100: number; imageToText: number; textToImage: number }

export interface GridRecord extends Scores {
  kind: 'grid';
  modelCrc: number;
  limit: number;
  calibN: number;
  part: PrunePart | 'all' | 'none';
  method: PruneMethod | 'dense';
  level: string;
  draw: number;
  overall: number;
  seconds: number;
}

export interface ClassifierRow {
  method: 'dense' | 'wanda' | 'magnitude';
  level: string;
  bytes: number;
  overall: number;
  top1: number;
  /** Median of 100 single-image runs. */
  latencyMs: number;
  /** Their quartiles and count, so a report can judge latency differences against noise (absent in older records). */
  latencyQuartilesMs?: [number, number];
  latencyRuns?: number;
  /** Batches of 64. */
  imagesPerSecond: number;
}
export type ClassifierRecord = ClassifierRow & { kind: 'classifier'; modelCrc: number; limit: number };

/** A layer's output error under each criterion's mask at 50%. */
export interface LayerErrorRow { name: string; wanda: number; magnitude: number }
export interface LayersRecord { kind: 'layers'; modelCrc: number; calibN: number; rows: LayerErrorRow[] }

/** The machine and command of a run, recorded when it starts (the report reads its host from here, never from the machine that rebuilds it). */
export interface HostRecord extends Host { kind: 'host'; modelCrc: number; at: string; command: string; threads: number }

/**
 * One point of the pretrained mode: an imported ImageNet network's image
 * encoder pruned (its 1000-class head left dense) and scored by that head's
 * top-1 on imagenet-sample.
 */
export interface ImagenetRecord {
  kind: 'imagenet';
  /** CRC-32 of the pretrained folder's checkpoint.safetensors. */
  modelCrc: number;
  /** The imported .tflite file's name. */
  source: string;
  /** imagenet-sample images evaluated (the seeded sample of `hyperclip eval --limit`). */
  limit: number;
  /** The unlabelled calibration data (a resolveData spec) and images per draw; wanda only reads them. */
  calibData: string;
  calibN: number;
  method: PruneMethod | 'dense';
  level: string;
  draw: number;
  top1: number;
  top5: number;
  samples: number;
  /** Whether each image's top-1 was right, in evaluation order: bits packed 8 per byte (first image in the lowest bit), base64 (hits.ts). */
  hits: string;
  /** Zeros over all weights of the pruned layers. */
  overall: number;
  seconds: number;
}

export type ResultRecord = GridRecord | ClassifierRecord | LayersRecord | HostRecord | ImagenetRecord;
