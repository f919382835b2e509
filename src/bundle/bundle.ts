// A trained model folder: weights + config (src/models/io.ts), the tokenizer
// it was trained with, the evaluation preprocessing and a model card. It is
// what train writes and what eval, generate and the web app read.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer, saveTokenizer, readTokenizerFile } from '../data/tokenizer/index.js';
import { evalPreprocess, type PreprocessSpec } from '../data/preprocess.js';
import { MODEL_FILES, loadModel, saveModel, type HyperClip, type ModelConfig } from '../models/index.js';
import type { SaveOptions } from '../models/io.js';
import { projectRoot } from '../project-root.js';

export interface Bundle {
  dir: string;
  model: HyperClip;
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** Exactly what evaluation and deployment apply to an image. */
  preprocess: PreprocessSpec;
  extra: Record<string, unknown>;
}

/** The shipped default model, used when no model is named. */
export const defaultModelDir = (): string => path.join(projectRoot(), 'models', 'default');

/** Writes model, config and tokenizer into dir (each write atomic). */
export function saveBundle(dir: string, model: HyperClip, tokenizer: Tokenizer, extra: Record<string, unknown> = {}, options: SaveOptions = {}): void {
  saveModel(dir, model, model.config, { ...extra, tokenizer: tokenizer.name, preprocess: evalPreprocessFor(model.config) }, options);
  if (tokenizer.path === undefined) throw new Error('saveBundle: the tokenizer must have been loaded from a file');
  const target = path.join(dir, MODEL_FILES.tokenizer);
  if (path.resolve(tokenizer.path) !== path.resolve(target)) saveTokenizer(readTokenizerFile(tokenizer.path).file, target);
}

export const evalPreprocessFor = (config: ModelConfig): PreprocessSpec => evalPreprocess(config.image.imageSize);

/** Loads a model folder (default: models/default). */
export function loadBundle(dir: string = defaultModelDir()): Bundle {
  if (!existsSync(dir)) {
    throw new Error(dir === defaultModelDir()
      ? `the default model is missing (${dir}): train one with \`hyperclip train --preset tiny-hyperclip\` or pass --model DIR`
      : `no model folder at ${dir}: pass the folder that holds ${MODEL_FILES.config}, ${MODEL_FILES.weights} and ${MODEL_FILES.tokenizer}`);
  }
  const tokenizerPath = path.join(dir, MODEL_FILES.tokenizer);
  if (!existsSync(tokenizerPath)) throw new Error(`${dir} has no ${MODEL_FILES.tokenizer}: it is not a complete hyperclip model folder`);
  const tokenizer = Tokenizer.load(tokenizerPath);
  const { model, config, extra } = loadModel(dir);
  if (tokenizer.vocabSize !== config.text.vocabSize) {
    model.dispose();
    throw new Error(`${dir}: tokenizer has ${tokenizer.vocabSize} tokens but the model expects ${config.text.vocabSize}`);
  }
  model.eval();
  const preprocess = (extra.preprocess as PreprocessSpec | undefined) ?? evalPreprocessFor(config);
  return { dir, model, config, tokenizer, preprocess, extra };
}

/** The model card's text, if the folder has one. */
export function readCard(dir: string): string | null {
  const file = path.join(dir, MODEL_FILES.card);
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

