// Importing a pretrained TensorFlow Lite network into a pretrained folder
// (src/bundle/pretrained.ts) with its classifier.onnx: the imported encoder
// and ImageNet head traced as an ordinary hyperclip classifier (softmax over
// the 1000 names, the same metadata generate writes, the frozen norms folded
// into the convolutions), so `hyperclip classify` runs it. Also how eval
// ranks classes with such a classifier on onnxruntime.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { imagenetLabels, PRETRAINED_CLASSIFIER, savePretrainedFolder, type PretrainedSource } from '../bundle/pretrained.js';
import { dataRoot } from '../data/datasets.js';
import { evalPreprocess } from '../data/preprocess.js';
import { writeFileAtomic, zeros, F } from '../engine/index.js';
import { topkRows, type RankBatch } from '../eval/classification.js';
import { MODEL_FILES, type ImageEncoderConfig } from '../models/index.js';
import { importMobileNet } from '../models/import/mobilenet-tflite.js';
import type { LabelClassifier } from '../models/label-classifier.js';
import { classifierMetadataProps, type ClassifierMetadata } from './metadata.js';
import { exportOnnx } from './onnx/writer.js';
import type { Classifier } from './runtime/classifier.js';

export interface ImportOptions {
  /** Called after each step with a short description of what it did. */
  onStep?: (step: string) => void;
  /** Where imagenet-sample/ (class names, WNIDs) is; default the data root. */
  dataDir?: string;
}

export interface ImportResult {
  dir: string;
  image: ImageEncoderConfig;
  /** Parameters of the encoder and the head. */
  parameters: { encoder: number; head: number };
  /** Files written into dir, with their sizes in bytes. */
  files: { name: string; bytes: number }[];
}

const APACHE = 'Apache-2.0';
const IMAGENET = 'ImageNet-1k (1.28M labelled images)';

/** Imports a MobileNet .tflite file into a pretrained folder: pretrained.json, checkpoint.safetensors, classifier.onnx, MODEL_CARD.md. */
export function importPretrained(file: string, dir: string, options: ImportOptions = {}): ImportResult {
  const step = options.onStep ?? (() => undefined);
  if (!existsSync(file)) throw new Error(`no such file: ${file}`);
  if (statSync(file).isDirectory()) throw new Error(`${file} is a folder: give a .tflite file`);
  if (existsSync(path.join(dir, MODEL_FILES.config))) throw new Error(`${dir} holds a hyperclip model (${MODEL_FILES.config}): import into another folder`);
  const bytes = readFileSync(file);
  const name = path.basename(file);
  const { image, classifier } = importMobileNet(bytes, name);
  try {
    step(`read ${name} (${(bytes.byteLength / 1e6).toFixed(1)} MB): ${image.family} width ${image.widthMultiplier}, ${image.imageSize}x${image.imageSize}`);
    const labels = imagenetLabels(options.dataDir);
    const source: PretrainedSource = { file: name, sha256: createHash('sha256').update(bytes).digest('hex'), licence: APACHE, trainedOn: IMAGENET };
    const licence = [path.join(path.dirname(file), 'LICENSE-apache-2.0'), path.join(options.dataDir ?? dataRoot(), 'pretrained', 'LICENSE-apache-2.0')].find(existsSync);
    const written = savePretrainedFolder(dir, image, classifier, source, labels, licence);
    step(`wrote ${written.join(', ')}`);
    const card = readFileSync(path.join(dir, MODEL_FILES.card), 'utf8');
    const onnx = exportLabelClassifier(classifier, { classNames: labels.classes, sourceModel: `${name} (ImageNet-1k)`, modelCard: card, imageSize: image.imageSize });
    writeFileAtomic(path.join(dir, PRETRAINED_CLASSIFIER), [onnx]);
    step(`exported ${PRETRAINED_CLASSIFIER} (softmax over ${labels.classes.length} classes, norms folded into the convolutions)`);
    const files = [...written, PRETRAINED_CLASSIFIER].map((f) => ({ name: f, bytes: statSync(path.join(dir, f)).size }));
    const encoder = classifier.imageEncoder.parameterCount();
    return { dir, image, parameters: { encoder, head: classifier.parameterCount() - encoder }, files };
  } finally {
    classifier.dispose();
  }
}

/** A label classifier as a hyperclip classifier .onnx: image [N, 3, S, S] (CLIP-normalised) -> probabilities [N, K]. */
export function exportLabelClassifier(classifier: LabelClassifier,
  options: { classNames: string[]; imageSize: number; sourceModel: string; modelCard?: string }): Uint8Array {
  const { classNames, imageSize: size } = options;
  if (classNames.length !== classifier.classes) throw new Error(`${classNames.length} class names for a head of ${classifier.classes} classes`);
  const preprocess = evalPreprocess(size);
  const metadata: ClassifierMetadata = {
    classNames, inputSize: [size, size], mean: preprocess.mean, std: preprocess.std, output: 'softmax',
    sourceModel: options.sourceModel, modelCard: options.modelCard ?? '',
  };
  const example = zeros([2, 3, size, size]);
  try {
    return exportOnnx(({ image }) => F.softmax(classifier.forward(image!), -1), // [N, K]
      [{ name: 'image', tensor: example, dynamicBatch: true }],
      {
        outputNames: ['probabilities'],
        names: classifier.stateDict(),
        metadata: classifierMetadataProps(metadata),
        docString: `hyperclip classifier for ${classNames.length} classes from ${options.sourceModel}`,
      });
  } finally {
    example.dispose();
  }
}

/** Ranks classes with a classifier on an ONNX runtime; the pixels are already normalised (the loader's output). */
export function rankWithOnnx(classifier: Classifier): RankBatch {
  return async (pixels, shape, k) => {
    const result = await classifier.runner.run({ [classifier.inputName]: { data: pixels, dims: shape } });
    const out = result[classifier.outputName]!;
    if (out.dims.length !== 2 || out.dims[0] !== shape[0]) throw new Error(`the classifier's output is [${out.dims}], expected [${shape[0]}, classes]`);
    return topkRows(out.data as Float32Array, shape[0], k);
  };
}
