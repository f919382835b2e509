// The ONNX files a model folder ships so that generate runs without libtorch:
// generator.onnx (text encoder + hypernetwork) and encoder.onnx (image
// encoder taking norm parameters as inputs), written atomically beside the
// weights. The generator is traced for a fixed number of templates, which
// it records together with the templates themselves, and both record the
// sha256 of the weights they came from, so a stale export can be detected.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../engine/index.js';
import type { Bundle } from '../bundle/bundle.js';
import { exportConditionedEncoder, exportGenerator } from './export-models.js';
import { MODEL_FILES } from '../models/folder-layout.js';

export interface DeployFiles {
  generator: string;
  encoder: string;
  bytes: number;
}

/** Writes generator.onnx and encoder.onnx into the bundle's folder. */
export function writeDeployFiles(bundle: Bundle, templates: string[]): DeployFiles {
  if (templates.length === 0) throw new Error('give at least one prompt template for the generator');
  const source = weightsDigest(bundle.dir);
  const generator = exportGenerator(bundle.model, templates, source);
  const encoder = exportConditionedEncoder(bundle.model, source);
  const files = { generator: path.join(bundle.dir, MODEL_FILES.generator), encoder: path.join(bundle.dir, MODEL_FILES.encoder) };
  writeFileAtomic(files.generator, [generator]);
  writeFileAtomic(files.encoder, [encoder]);
  return { ...files, bytes: generator.byteLength + encoder.byteLength };
}

/** The metadata key holding the sha256 (hex) of the model.safetensors an export was made from. */
export const WEIGHTS_SHA256 = 'hyperclip.weights_sha256';

/** sha256 of a model folder's weights file, as export metadata (empty when the folder has no weights file). */
export function weightsDigest(dir: string): Record<string, string> {
  const weights = path.join(dir, MODEL_FILES.weights);
  return existsSync(weights) ? { [WEIGHTS_SHA256]: createHash('sha256').update(readFileSync(weights)).digest('hex') } : {};
}

/** Whether a model folder has the files for generation without libtorch. */
export const hasDeployFiles = (dir: string): boolean => existsSync(path.join(dir, MODEL_FILES.generator)) && existsSync(path.join(dir, MODEL_FILES.encoder));

export function readDeployFiles(dir: string): { generator: Uint8Array; encoder: Uint8Array } {
  return { generator: readFileSync(path.join(dir, MODEL_FILES.generator)), encoder: readFileSync(path.join(dir, MODEL_FILES.encoder)) };
}
