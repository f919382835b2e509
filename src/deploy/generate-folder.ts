// Generation from a model folder's shipped ONNX files (generator.onnx,
// encoder.onnx, tokenizer.json, config.json): the path that needs no libtorch.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '../data/tokenizer/index.js';
import { evalPreprocess, type PreprocessSpec } from '../data/preprocess.js';
import { CARD_FILE, TOKENIZER_FILE } from '../bundle/bundle.js';
import { readDeployFiles } from './deploy-files.js';
import type { ClassifierOutput } from './metadata.js';
import { readOnnxInfo } from './onnx/read.js';
import { generateOnRuntime, type RuntimeGenerated } from './runtime/generate.js';
import { openRunner } from './runtime/node.js';

export interface FolderGenerateOptions {
  classNames: string[];
  /** Default: the templates the generator was exported with. */
  templates?: string[];
  output?: ClassifierOutput;
}

export async function generateFromFolder(dir: string, options: FolderGenerateOptions): Promise<RuntimeGenerated> {
  const files = readDeployFiles(dir);
  const generatorInfo = readOnnxInfo(files.generator).metadata;
  const templates = options.templates ?? (JSON.parse(generatorInfo['hyperclip.templates'] ?? '["a photo of a {}."]') as string[]);
  const tokenizer = Tokenizer.load(path.join(dir, TOKENIZER_FILE));
  const preprocess = folderPreprocess(dir, Number(generatorInfo['hyperclip.image_size']));
  const card = path.join(dir, CARD_FILE);
  return generateOnRuntime(files.generator, files.encoder, tokenizer, {
    classNames: options.classNames, templates, output: options.output, mean: preprocess.mean, std: preprocess.std,
    sourceModel: `${generatorInfo['hyperclip.model']} (${path.basename(path.resolve(dir))})`,
    modelCard: existsSync(card) ? readFileSync(card, 'utf8') : '',
  }, openRunner);
}

/** The evaluation preprocessing saved in config.json, else the default for the image size. */
function folderPreprocess(dir: string, imageSize: number): PreprocessSpec {
  try {
    const saved = (JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { extra?: { preprocess?: PreprocessSpec } }).extra?.preprocess;
    if (saved !== undefined) return saved;
  } catch {
    // No readable config: fall back to the default preprocessing for the encoder's size.
  }
  return evalPreprocess(imageSize);
}
