// A model folder on Node, and generation from it: on onnxruntime from the
// folder's generator.onnx and encoder.onnx (no libtorch), or on libtorch
// from its weights when the addon is built. The CLI's generate command and
// the package's generate() both come through here.
import { existsSync } from 'node:fs';
import { SIMPLE_TEMPLATES } from '../data/captions.js';
import { defaultModelDir, loadBundle } from '../bundle/bundle.js';
import { hasDeployFiles } from '../deploy/deploy-files.js';
import { generateClassifier } from '../deploy/generate.js';
import { generateFromFiles, readOnnxModelFiles, type OnnxModelFiles } from '../deploy/generate-folder.js';
import type { ClassifierMetadata, ClassifierOutput } from '../deploy/metadata.js';
import { openRunner } from '../deploy/runtime/node.js';
import { addonBuilt, useAllCores } from '../engine/runtime.js';
import type { CheckedClassNames } from '../eval/prompt-lists.js';
import { MODEL_FILES } from '../models/folder-layout.js';
import { NodeClassifier } from './node-classifier.js';

/** onnx: the folder's ONNX files on onnxruntime; libtorch: its weights on the addon; auto: onnx when the files exist. */
export type Engine = 'auto' | 'onnx' | 'libtorch';

export interface GenerateOptions {
  /** Default 'auto'. */
  engine?: Engine;
  /** Prompt templates with {} for the class name (default: the generator's own, or "a photo of a {}."). */
  templates?: string[];
  /** What the classifier outputs: softmax (default) or sigmoid probabilities, or logits. */
  output?: ClassifierOutput;
  /**
   * Per class, the texts that fill the templates' {} (e.g. its name and its
   * WordNet phrases, src/eval/name-phrases.ts); default: its name alone.
   * libtorch only: the shipped generator.onnx averages a fixed number of prompts per class.
   */
  phrases?: readonly (readonly string[])[] | null;
}

/** A generated classifier file before it is opened. */
export interface GeneratedFile {
  bytes: Uint8Array;
  metadata: ClassifierMetadata;
  engine: 'onnx' | 'libtorch';
  /** Seconds: text encoder + hypernetwork, and building (or tracing) the classifier file. */
  timings: { generate: number; build: number };
}

export class HyperclipModel {
  private onnxFiles: Promise<OnnxModelFiles> | null = null;

  private constructor(readonly dir: string) {}

  /** A model folder (default: the shipped models/default). Reads nothing heavy until the first generate. */
  static load(dir: string = defaultModelDir()): HyperclipModel {
    if (!existsSync(dir)) {
      throw new Error(dir === defaultModelDir()
        ? `the default model is missing (${dir}): reinstall hyperclip or pass a model folder`
        : `no model folder at ${dir}: pass the folder that holds ${MODEL_FILES.config}, ${MODEL_FILES.tokenizer} and ${MODEL_FILES.generator} + ${MODEL_FILES.encoder} (or ${MODEL_FILES.weights})`);
    }
    return new HyperclipModel(dir);
  }

  /** Whether the folder carries generator.onnx and encoder.onnx, so that generation needs no libtorch. */
  get hasOnnx(): boolean {
    return hasDeployFiles(this.dir);
  }

  /** Class names in, an open classifier out. */
  async generate(classNames: readonly string[] | CheckedClassNames, options: GenerateOptions = {}): Promise<NodeClassifier> {
    const { bytes } = await this.generateFile(classNames, options);
    return NodeClassifier.open(bytes, openRunner);
  }

  /** Class names in (checked by the engine's generator unless already checked), the classifier's .onnx bytes out (with timings), without opening it. */
  async generateFile(classNames: readonly string[] | CheckedClassNames, options: GenerateOptions = {}): Promise<GeneratedFile> {
    const output = options.output ?? 'softmax';
    const phrases = options.phrases ?? null;
    if (this.engineFor(options.engine ?? 'auto', { phrases: phrases !== null }) === 'onnx') {
      // Read once; a failed read is not kept, so a folder fixed in the meantime loads on the next call.
      this.onnxFiles ??= readOnnxModelFiles(this.dir).catch((err: unknown) => {
        this.onnxFiles = null;
        throw err;
      });
      const result = await generateFromFiles(await this.onnxFiles, { classNames, templates: options.templates, output });
      return { bytes: result.bytes, metadata: result.metadata, engine: 'onnx', timings: result.timings };
    }
    useAllCores();
    const bundle = loadBundle(this.dir);
    try {
      const result = generateClassifier(bundle, { classNames, templates: options.templates ?? [...SIMPLE_TEMPLATES], output, phrases });
      return { bytes: result.bytes, metadata: result.metadata, engine: 'libtorch', timings: { generate: result.timings.generate, build: result.timings.export } };
    } finally {
      bundle.model.dispose();
    }
  }

  /**
   * The engine a generate call with this choice runs on; throws when neither
   * can run. With per-class phrases, libtorch only (generator.onnx averages
   * a fixed number of prompts, its templates, per class).
   */
  engineFor(engine: Engine, options: { phrases?: boolean } = {}): 'onnx' | 'libtorch' {
    if (engine === 'libtorch') return 'libtorch';
    if (engine !== 'onnx' && engine !== 'auto') throw new Error(`engine must be auto, onnx or libtorch, got "${engine}"`);
    if (options.phrases === true) {
      if (engine === 'auto' && addonBuilt()) return 'libtorch';
      throw new Error(`per-class phrases (--name-phrases) need the libtorch engine: ${MODEL_FILES.generator} averages a fixed number of prompts per class` +
        (engine === 'onnx' ? '; use --engine libtorch' : ', and the libtorch addon is not built (npm run build:native)'));
    }
    if (this.hasOnnx) return 'onnx';
    if (engine === 'auto' && addonBuilt()) return 'libtorch';
    throw new Error(`${this.dir} has no ${MODEL_FILES.generator} and ${MODEL_FILES.encoder}: write them with \`hyperclip export-onnx --model ${this.dir}\` (needs the libtorch addon)`);
  }
}

/** Loads a model folder (default: the shipped models/default). */
export const loadModel = (dir?: string): HyperclipModel => HyperclipModel.load(dir);

/** Class names in, an open classifier out, from `model` (a folder or a loaded model; default models/default). */
export async function generate(classNames: readonly string[] | CheckedClassNames, options: GenerateOptions & { model?: string | HyperclipModel } = {}): Promise<NodeClassifier> {
  const model = options.model instanceof HyperclipModel ? options.model : HyperclipModel.load(options.model);
  return model.generate(classNames, options);
}
