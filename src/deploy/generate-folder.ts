// Generation from a model folder's shipped ONNX files (generator.onnx,
// encoder.onnx, tokenizer.json, config.json): the path that needs no libtorch.
// The folder is read by the same loader and parser as in the browser
// (folder-loader.ts, model-folder.ts); only the reader is Node's.
import type { CheckedClassNames } from '../eval/prompt-lists.js';
import type { ClassifierOutput } from './metadata.js';
import { loadModelFolder, requiredFileList, type LoadedModelFolder } from './folder-loader.js';
import { fsFolderReader } from './folder-read-fs.js';
import { templatesFor } from './model-folder.js';
import { generateOnRuntime, type RuntimeGenerated } from './runtime/generate.js';
import { openRunner } from './runtime/node.js';

export interface FolderGenerateOptions {
  classNames: readonly string[] | CheckedClassNames;
  /** Default: the templates the generator was exported with. */
  templates?: string[];
  output?: ClassifierOutput;
}

/** What generation on onnxruntime reads from a model folder, read once. */
export interface OnnxModelFiles extends LoadedModelFolder {
  dir: string;
}

/** Reads and checks a model folder's deployed files; one line when one is missing or they do not fit. */
export async function readOnnxModelFiles(dir: string): Promise<OnnxModelFiles> {
  const hint = `a model folder for generation without libtorch holds ${requiredFileList()} (\`hyperclip export-onnx --model ${dir}\` writes the ONNX files)`;
  return { dir, ...await loadModelFolder(fsFolderReader(dir, hint)) };
}

export function generateFromFiles(files: OnnxModelFiles, options: FolderGenerateOptions): Promise<RuntimeGenerated> {
  return generateOnRuntime(files.generator, files.encoder, files.tokenizer, {
    classNames: options.classNames, templates: templatesFor(files, options.templates), output: options.output,
    mean: files.preprocess.mean, std: files.preprocess.std, sourceModel: files.sourceModel, modelCard: files.card,
  }, openRunner);
}

export async function generateFromFolder(dir: string, options: FolderGenerateOptions): Promise<RuntimeGenerated> {
  return generateFromFiles(await readOnnxModelFiles(dir), options);
}
