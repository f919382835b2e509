// Saving and loading a model: model.safetensors (weights and batch-norm
// statistics) beside config.json (the resolved config and caller's extras).
// Both writes are atomic, so a crash leaves the old files or the new ones.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, saveSafetensors, writeJsonAtomic, type Tensor } from '../engine/index.js';
import { validateConfig, type ModelConfig } from './config.js';
import { HyperClip } from './hyperclip.js';
import { decodeSparseTensors, encodeSparseTensors } from '../engine/sparse-tensors.js';
import { checkPartUnchanged, importedPartTensors, type PretrainedPart } from './import/pretrained-ref.js';
import { MODEL_FILES } from './folder-layout.js';

const FORMAT = 'hyperclip-model';
const VERSION = 1;

export interface SavedModel {
  model: HyperClip;
  config: ModelConfig;
  extra: Record<string, unknown>;
}

export interface SaveOptions {
  /** Pruned tensors to store as mask + values (src/engine/sparse-tensors.ts), so the file shrinks. */
  sparse?: Iterable<string>;
  /**
   * A part kept exactly as imported from a pretrained file ({ part: 'imageEncoder', from: 'pretrained:NAME' }):
   * saved as a reference (with the file's sha256), not as weights; loadModel imports it again.
   */
  pretrained?: { part: string; from: string };
}

export function saveModel(dir: string, model: HyperClip, config: ModelConfig = model.config, extra: Record<string, unknown> = {},
  options: SaveOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  let state = model.stateDict();
  let pretrained: PretrainedPart | undefined;
  if (options.pretrained !== undefined) {
    const { tensors: imported, sha256 } = importedPartTensors(options.pretrained);
    try {
      checkPartUnchanged(state, imported, options.pretrained);
    } finally {
      for (const t of imported.values()) t.dispose();
    }
    pretrained = { ...options.pretrained, sha256 };
    state = new Map([...state].filter(([name]) => !imported.has(name)));
  }
  const { tensors, metadata, created } = encodeSparseTensors(state, options.sparse ?? []);
  try {
    saveSafetensors(path.join(dir, MODEL_FILES.weights), tensors, { format: FORMAT, config: config.name, ...metadata });
  } finally {
    for (const t of created) t.dispose();
  }
  writeJsonAtomic(path.join(dir, MODEL_FILES.config), { format: FORMAT, version: VERSION, config, ...(pretrained ? { pretrained } : {}), extra });
}

export function loadModel(dir: string): SavedModel {
  const configFile = path.join(dir, MODEL_FILES.config);
  const weightsFile = path.join(dir, MODEL_FILES.weights);
  for (const f of [configFile, weightsFile]) {
    if (!existsSync(f)) throw new Error(`cannot load a model from ${dir}: ${path.basename(f)} is missing (save one with saveModel)`);
  }
  let parsed: { format?: string; version?: number; config?: ModelConfig; pretrained?: PretrainedPart; extra?: Record<string, unknown> };
  try {
    parsed = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (err) {
    throw new Error(`cannot load a model from ${dir}: ${MODEL_FILES.config} is not valid JSON (${(err as Error).message})`);
  }
  if (parsed.format !== FORMAT || parsed.config === undefined) {
    throw new Error(`cannot load a model from ${dir}: ${MODEL_FILES.config} is not a hyperclip model config`);
  }
  if (parsed.version !== VERSION) throw new Error(`cannot load a model from ${dir}: format version ${parsed.version}, this build reads ${VERSION}`);
  const config = validateConfig(parsed.config);
  const model = new HyperClip(config);
  let tensors: Map<string, Tensor>;
  try {
    const file = loadSafetensors(weightsFile);
    tensors = decodeSparseTensors(file.tensors, file.metadata, weightsFile);
    if (parsed.pretrained !== undefined) {
      for (const [name, t] of importedPartTensors(parsed.pretrained).tensors) tensors.set(name, t);
    }
  } catch (err) {
    model.dispose();
    throw new Error(`cannot load a model from ${dir}: ${(err as Error).message}`);
  }
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    model.dispose();
    throw new Error(`cannot load ${weightsFile}: ${(err as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { model, config, extra: parsed.extra ?? {} };
}
