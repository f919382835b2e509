// Generation from a model folder's shipped ONNX files (generator.onnx,
// encoder.onnx, tokenizer.json, config.json): the path that needs no libtorch.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '../data/tokenizer/index.js';
import { evalPreprocess, type PreprocessSpec } from '../data/preprocess.js';
import { readDeployFiles } from './deploy-files.js';
import type { ClassifierOutput } from './metadata.js';
import { readOnnxInfo } from './onnx/read.js';
import { MODEL_FILES } from '../models/folder-layout.js';
import { generateOnRuntime, type RuntimeGenerated } from './runtime/generate.js';
import { openRunner } from './runtime/node.js';

export interface FolderGenerateOptions {
  classNames: string[];
  /** Default: the templates the generator was exported with. */
  templates?: string[];
  output?: ClassifierOutput;
}

/** What generation on onnxruntime reads from a model folder, read once. */
export interface OnnxModelFiles {
  dir: string;
  generator: Uint8Array;
  encoder: Uint8Array;
  tokenizer: Tokenizer;
  /** The templates the generator was traced for. */
  templates: string[];
  preprocess: PreprocessSpec;
  sourceModel: string;
  card: string;
}

export function readOnnxModelFiles(dir: string): OnnxModelFiles {
  const files = readDeployFiles(dir);
  const generatorInfo = readOnnxInfo(files.generator).metadata;
  const card = path.join(dir, MODEL_FILES.card);
  return {
    dir, ...files,
    tokenizer: Tokenizer.load(path.join(dir, MODEL_FILES.tokenizer)),
    templates: JSON.parse(generatorInfo['hyperclip.templates'] ?? '["a photo of a {}."]') as string[],
    preprocess: folderPreprocess(dir, Number(generatorInfo['hyperclip.image_size'])),
    sourceModel: `${generatorInfo['hyperclip.model']} (${path.basename(path.resolve(dir))})`,
    card: existsSync(card) ? readFileSync(card, 'utf8') : '',
  };
}

export function generateFromFiles(files: OnnxModelFiles, options: FolderGenerateOptions): Promise<RuntimeGenerated> {
  return generateOnRuntime(files.generator, files.encoder, files.tokenizer, {
    classNames: options.classNames, templates: options.templates ?? files.templates, output: options.output,
    mean: files.preprocess.mean, std: files.preprocess.std, sourceModel: files.sourceModel, modelCard: files.card,
  }, openRunner);
}

export function generateFromFolder(dir: string, options: FolderGenerateOptions): Promise<RuntimeGenerated> {
  return generateFromFiles(readOnnxModelFiles(dir), options);
}

/** The evaluation preprocessing saved in config.json, else the default for the image size. */
function folderPreprocess(dir: string, imageSize: number): PreprocessSpec {
  try {
    const saved = (JSON.parse(readFileSync(path.join(dir, MODEL_FILES.config), 'utf8')) as { extra?: { preprocess?: PreprocessSpec } }).extra?.preprocess;
    if (saved !== undefined) return saved;
  } catch {
    // No readable config: fall back to the default preprocessing for the encoder's size.
  }
  return evalPreprocess(imageSize);
}
