// The model folder bench:deploy measures, and a folder with its ONNX
// deployment files (generator.onnx, encoder.onnx, tokenizer.json,
// config.json): the model's own when it ships them, else exported into a
// temporary folder so the model folder is never written to.
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultModelDir, saveBundle, type Bundle } from '../../src/bundle/bundle.js';
import { MODEL_FILES } from '../../src/models/folder-layout.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { hasDeployFiles, writeDeployFiles } from '../../src/deploy/deploy-files.js';
import { SIMPLE_TEMPLATES } from '../../src/data/index.js';
import { manualSeed } from '../../src/engine/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';

export interface BenchModel {
  dir: string;
  /** Why this folder: given, the default, or an untrained stand-in. */
  origin: 'given' | 'default' | 'untrained';
}

/** --model DIR, else models/default, else an untrained tiny-hyperclip saved in a temporary folder. */
export function chooseModelDir(given: string | undefined): BenchModel {
  if (given !== undefined) {
    if (!existsSync(given)) throw new Error(`no model folder at ${given}: pass a folder written by \`hyperclip train\``);
    return { dir: given, origin: 'given' };
  }
  if (existsSync(defaultModelDir())) return { dir: defaultModelDir(), origin: 'default' };
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-untrained-'));
  const tokenizer = Tokenizer.load('flickr8k-4k');
  manualSeed(0);
  const config = resolveConfig({ preset: 'tiny-hyperclip', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength, endTokenId: tokenizer.endToken } });
  const model = new HyperClip(config).eval();
  saveBundle(dir, model, tokenizer, { untrained: true });
  model.dispose();
  return { dir, origin: 'untrained' };
}

/** A folder holding the ONNX deployment files of the bundle; exported to a temporary folder if the bundle lacks them. */
export function deploymentFolder(bundle: Bundle): { dir: string; exported: boolean } {
  if (hasDeployFiles(bundle.dir)) return { dir: bundle.dir, exported: false };
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-deploy-'));
  writeDeployFiles({ ...bundle, dir }, [...SIMPLE_TEMPLATES]);
  for (const file of [MODEL_FILES.tokenizer, MODEL_FILES.config, MODEL_FILES.card]) {
    if (existsSync(path.join(bundle.dir, file))) copyFileSync(path.join(bundle.dir, file), path.join(dir, file));
  }
  return { dir, exported: true };
}
