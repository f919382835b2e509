// Generation on an ONNX runtime alone: class prompts through the exported
// generator (text encoder + hypernetwork), then the exported encoder is
// specialised into a classifier file. No libtorch anywhere on this path.
import { classNamesOf, type CheckedClassNames } from '../../eval/prompt-lists.js';
import { CLASS_EMBEDDINGS } from '../io-names.js';
import type { ClassifierMetadata, ClassifierOutput } from '../metadata.js';
import { readOnnxInfo } from '../onnx/read.js';
import { specializeEncoder } from '../specialize.js';
import type { OpenRunner } from './session.js';

/** What generation needs from a tokenizer: [n, contextLength] ids, row-major. */
export interface PromptTokenizer {
  encodeBatch(texts: readonly string[]): { ids: Int32Array; n: number; contextLength: number };
}

export interface RuntimeGenerateOptions {
  /** Raw names are checked here; a CheckedClassNames was checked already. */
  classNames: readonly string[] | CheckedClassNames;
  templates: string[];
  output?: ClassifierOutput;
  mean: [number, number, number];
  std: [number, number, number];
  sourceModel?: string;
  modelCard?: string;
}

export interface RuntimeGenerated {
  bytes: Uint8Array;
  metadata: ClassifierMetadata;
  /** Seconds: the generator run, and building the classifier file. */
  timings: { generate: number; build: number };
}

export async function generateOnRuntime(generatorBytes: Uint8Array, encoderBytes: Uint8Array, tokenizer: PromptTokenizer,
  options: RuntimeGenerateOptions, open: OpenRunner): Promise<RuntimeGenerated> {
  const classNames = classNamesOf(options.classNames, 'classes');
  const info = readOnnxInfo(encoderBytes).metadata;
  if (info['hyperclip.kind'] !== 'conditioned-encoder') throw new Error('the encoder file is not a hyperclip conditioned encoder (export it with exportConditionedEncoder)');
  const traced = Number(readOnnxInfo(generatorBytes).metadata['hyperclip.template_count'] ?? options.templates.length);
  if (traced !== options.templates.length) {
    throw new Error(`the generator was exported for ${traced} prompt template(s), got ${options.templates.length}; use its templates or re-export it`);
  }
  const started = performance.now();
  const prompts = classNames.flatMap((name) => options.templates.map((t) => t.replaceAll('{}', name)));
  const { ids, contextLength } = tokenizer.encodeBatch(prompts);
  const generator = await open(generatorBytes);
  let generated;
  try {
    generated = await generator.run({ ids: { data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [classNames.length, options.templates.length, contextLength] } });
  } finally {
    await generator.release();
  }
  const built = performance.now();
  const size = Number(info['hyperclip.image_size']);
  const metadata: ClassifierMetadata = {
    classNames, inputSize: [size, size], mean: options.mean, std: options.std, output: options.output ?? 'softmax',
    ...(options.sourceModel !== undefined ? { sourceModel: options.sourceModel } : {}),
    ...(options.modelCard !== undefined ? { modelCard: options.modelCard } : {}),
  };
  const normInputs = new Map(Object.entries(generated).filter(([name]) => name !== CLASS_EMBEDDINGS).map(([name, t]) => [name, t.data as Float32Array]));
  const bytes = specializeEncoder(encoderBytes, {
    classEmbeddings: generated[CLASS_EMBEDDINGS]!.data as Float32Array, normInputs, metadata,
    logitScale: Number(info['hyperclip.logit_scale']), logitBias: Number(info['hyperclip.logit_bias']),
  });
  return { bytes, metadata, timings: { generate: (built - started) / 1000, build: (performance.now() - built) / 1000 } };
}
