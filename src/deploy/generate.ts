// Class names in, a standalone ONNX classifier out: the text encoder and the
// hypernetwork run once for the class set, then the conditioned image
// encoder with the class embeddings as its last layer is traced to ONNX,
// generated norm parameters folded into the convolutions.
import path from 'node:path';
import { F, zeros, type Tensor } from '../engine/index.js';
import { readCard, type Bundle } from '../bundle/bundle.js';
import { classNamesOf, type CheckedClassNames } from '../eval/prompt-lists.js';
import { buildClassifier, disposeClassifier, type PhraseLists } from '../eval/zeroshot.js';
import { classifierMetadataProps, type ClassifierMetadata, type ClassifierOutput } from './metadata.js';
import { exportOnnx } from './onnx/writer.js';

export interface GenerateOptions {
  /** Raw names are checked here; a CheckedClassNames was checked already. */
  classNames: readonly string[] | CheckedClassNames;
  /** Prompt templates with "{}" for the class name; embeddings are averaged over them. */
  templates: string[];
  /** What the classifier outputs: softmax or sigmoid probabilities, or raw logits (default softmax). */
  output?: ClassifierOutput;
  /**
   * Per class, the texts that fill the templates' {} (e.g. its name and its
   * WordNet phrases, src/eval/name-phrases.ts); default: its name alone.
   * Recorded in the file's metadata as hyperclip.phrases.
   */
  phrases?: PhraseLists | null;
}

export interface GeneratedClassifier {
  bytes: Uint8Array;
  metadata: ClassifierMetadata;
  /** Seconds spent in text encoder + hypernetwork, and in tracing + serialising. */
  timings: { generate: number; export: number };
}

export function generateClassifier(bundle: Bundle, options: GenerateOptions): GeneratedClassifier {
  const classNames = classNamesOf(options.classNames, 'classes');
  const output = options.output ?? 'softmax';
  const size = bundle.preprocess.size;
  const metadata: ClassifierMetadata = {
    classNames, inputSize: [size, size], mean: bundle.preprocess.mean, std: bundle.preprocess.std, output,
    sourceModel: `${bundle.config.name} (${path.basename(path.resolve(bundle.dir))})`,
    modelCard: readCard(bundle.dir) ?? '',
  };
  const started = performance.now();
  const phrases = options.phrases ?? null;
  const zeroShot = buildClassifier(bundle, classNames, options.templates, phrases); // [K, E] + norm params [1, C]
  const generated = performance.now();
  try {
    const head = (logits: Tensor): Tensor => (output === 'softmax' ? F.softmax(logits, -1) : output === 'sigmoid' ? logits.sigmoid() : logits);
    const bytes = exportOnnx(({ image }) => head(bundle.model.classify(image!, zeroShot)), // [N, K]
      [{ name: 'image', tensor: zeros([2, 3, size, size]), dynamicBatch: true }],
      {
        outputNames: [output === 'logits' ? 'logits' : 'probabilities'],
        names: bundle.model.stateDict(),
        metadata: {
          ...classifierMetadataProps(metadata), 'hyperclip.templates': JSON.stringify(options.templates),
          ...(phrases === null ? {} : { 'hyperclip.phrases': JSON.stringify(phrases) }),
        },
        docString: `hyperclip classifier for ${classNames.length} classes from ${metadata.sourceModel}`,
      });
    return { bytes, metadata, timings: { generate: (generated - started) / 1000, export: (performance.now() - generated) / 1000 } };
  } finally {
    disposeClassifier(zeroShot);
  }
}
