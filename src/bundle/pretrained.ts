// A pretrained model folder: an ImageNet-trained network imported from a
// TensorFlow Lite file (src/models/import), as our encoder with its 1000-class
// head. pretrained.json says what it is (encoder config, class names, WNIDs,
// source file and licence, preprocessing); checkpoint.safetensors holds the
// LabelClassifier's tensors under "model.", the names a recipe's
// init: { from: DIR, parts: ['imageEncoder'] } reads (src/train/init-from-run.ts);
// classifier.onnx (written by src/deploy/pretrained.ts) is the same network as
// an ordinary hyperclip classifier.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { dataRoot } from '../data/datasets.js';
import { evalPreprocess, type PreprocessSpec } from '../data/preprocess.js';
import { loadSafetensors, saveSafetensors, writeFileAtomic, writeJsonAtomic, type Tensor } from '../engine/index.js';
import { MODEL_FILES, createImageEncoder, resolveConfig, type ImageEncoderConfig } from '../models/index.js';
import { LabelClassifier } from '../models/label-classifier.js';

export const PRETRAINED_FILE = 'pretrained.json';
export const PRETRAINED_CHECKPOINT = 'checkpoint.safetensors';
export const PRETRAINED_CLASSIFIER = 'classifier.onnx';
export const PRETRAINED_LICENCE = 'LICENSE-apache-2.0';
const FORMAT = 'hyperclip-pretrained-image';
const VERSION = 1;
const IMAGENET_CLASSES = 1000;

export interface PretrainedSource {
  /** The imported file's name. */
  file: string;
  sha256: string;
  licence: string;
  trainedOn: string;
}

/** pretrained.json. */
export interface PretrainedInfo {
  format: typeof FORMAT;
  version: typeof VERSION;
  image: ImageEncoderConfig;
  /** ImageNet-1k class names in index order (the first synonym of each). */
  classes: string[];
  wnids: string[];
  source: PretrainedSource;
  preprocess: PreprocessSpec;
}

export interface PretrainedFolder {
  dir: string;
  image: ImageEncoderConfig;
  /** The encoder with its ImageNet head, in eval mode. */
  classifier: LabelClassifier;
  classNames: string[];
  wnids: string[];
  preprocess: PreprocessSpec;
  source: PretrainedSource;
}

/** ImageNet-1k's class names (first synonym) and WNIDs in the standard index order, from the data folder's imagenet-sample/. */
export function imagenetLabels(root = dataRoot()): { classes: string[]; wnids: string[] } {
  const folder = path.join(root, 'imagenet-sample');
  const read = (name: string, pattern: RegExp): string[] => {
    const file = path.join(folder, name);
    if (!existsSync(file)) throw new Error(`missing ${file}: the ImageNet class names and WNIDs come from imagenet-sample/ (set HYPERCLIP_DATA to the folder holding it)`);
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(list) || list.length !== IMAGENET_CLASSES || !list.every((n) => typeof n === 'string' && pattern.test(n))) {
      throw new Error(`${file} must be a JSON list of ${IMAGENET_CLASSES} ${name === 'wnids.json' ? 'WNIDs (n01440764, ...)' : 'class names'}`);
    }
    return list as string[];
  };
  return { classes: read('classnames.json', /\S/).map((n) => n.replaceAll('_', ' ')), wnids: read('wnids.json', /^n\d{8}$/) };
}

/** Writes pretrained.json, checkpoint.safetensors and MODEL_CARD.md (each atomically); returns the files written. */
export function savePretrainedFolder(dir: string, image: ImageEncoderConfig, classifier: LabelClassifier, source: PretrainedSource,
  labels: { classes: string[]; wnids: string[] }, licenceFile?: string): string[] {
  if (classifier.classes !== labels.classes.length || labels.wnids.length !== labels.classes.length) {
    throw new Error(`the head has ${classifier.classes} classes but ${labels.classes.length} names and ${labels.wnids.length} WNIDs were given`);
  }
  mkdirSync(dir, { recursive: true });
  const info: PretrainedInfo = { format: FORMAT, version: VERSION, image, ...labels, source, preprocess: evalPreprocess(image.imageSize) };
  const state = new Map<string, Tensor>([...classifier.stateDict()].map(([name, t]) => [`model.${name}`, t]));
  saveSafetensors(path.join(dir, PRETRAINED_CHECKPOINT), state, { format: FORMAT, source: source.file });
  writeJsonAtomic(path.join(dir, PRETRAINED_FILE), info);
  const written = [PRETRAINED_FILE, PRETRAINED_CHECKPOINT];
  if (licenceFile !== undefined && existsSync(licenceFile)) {
    writeFileAtomic(path.join(dir, PRETRAINED_LICENCE), [readFileSync(licenceFile)]);
    written.push(PRETRAINED_LICENCE);
  }
  writeFileAtomic(path.join(dir, MODEL_FILES.card), [pretrainedCard(info, classifier.parameterCount(), written.includes(PRETRAINED_LICENCE))]);
  return [...written, MODEL_FILES.card];
}

/** Whether dir is a pretrained folder (has a pretrained.json); says nothing about its validity. */
export function isPretrainedFolder(dir: string): boolean {
  return existsSync(path.join(dir, PRETRAINED_FILE));
}

/** pretrained.json, checked; one-line errors name the folder and what is wrong. */
export function readPretrainedInfo(dir: string): PretrainedInfo {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`no pretrained folder at ${dir}: make one with \`hyperclip import FILE.tflite -o ${dir}\``);
  const file = path.join(dir, PRETRAINED_FILE);
  if (!existsSync(file)) throw new Error(`${dir} has no ${PRETRAINED_FILE}: it is not a pretrained folder (make one with \`hyperclip import FILE.tflite -o DIR\`)`);
  let info: PretrainedInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as PretrainedInfo;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message})`);
  }
  if (info === null || typeof info !== 'object' || info.format !== FORMAT) throw new Error(`${file} is not a hyperclip pretrained folder description (format ${JSON.stringify(info?.format)}, expected ${FORMAT})`);
  if (info.version !== VERSION) throw new Error(`${file}: format version ${info.version}, this build reads ${VERSION}`);
  const okList = (x: unknown): boolean => Array.isArray(x) && x.length === IMAGENET_CLASSES && x.every((n) => typeof n === 'string');
  if (!okList(info.classes) || !okList(info.wnids)) throw new Error(`${file}: classes and wnids must be lists of ${IMAGENET_CLASSES} strings`);
  info.image = resolveConfig({ image: info.image }).image; // validates the encoder config
  return info;
}

/** Loads a pretrained folder's encoder and head (eval mode). */
export function loadPretrainedFolder(dir: string): PretrainedFolder {
  const info = readPretrainedInfo(dir);
  const checkpoint = path.join(dir, PRETRAINED_CHECKPOINT);
  if (!existsSync(checkpoint)) throw new Error(`${dir} has no ${PRETRAINED_CHECKPOINT}: import the file again`);
  const { tensors } = loadSafetensors(checkpoint);
  const classifier = new LabelClassifier(createImageEncoder(info.image), info.classes.length);
  try {
    const state = new Map<string, Tensor>();
    for (const [name, t] of tensors) if (name.startsWith('model.')) state.set(name.slice('model.'.length), t);
    classifier.loadStateDict(state);
  } catch (err) {
    classifier.dispose();
    throw new Error(`cannot load ${checkpoint}: ${(err as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  classifier.eval();
  return { dir, image: info.image, classifier, classNames: info.classes, wnids: info.wnids, preprocess: info.preprocess, source: info.source };
}

function pretrainedCard(info: PretrainedInfo, parameters: number, licenceCopied: boolean): string {
  const { image, source } = info;
  const family = image.family === 'mobilenetv1' ? 'MobileNet v1' : image.family === 'mobilenetv2' ? 'MobileNet v2' : image.family;
  return `# ${family}, width ${image.widthMultiplier}, ${image.imageSize}x${image.imageSize}: an ImageNet-1k classifier imported from TensorFlow Lite

What this is: the ImageNet-trained network of \`${source.file}\`, read by \`hyperclip import\` into hyperclip's
${image.family} image encoder with its 1000-class head (${(parameters / 1e6).toFixed(2)}M parameters). The file's uint8 weights are
dequantized (real = scale x (q - zero point)) and run in float32; its folded batch norm becomes a per-channel
norm (scale 1, the folded shift) that a hypernetwork can modulate. Logit 0 of the file ("background") is dropped.

| | |
|---|---|
| source file | \`${source.file}\` |
| sha256 | \`${source.sha256}\` |
| licence | ${source.licence} (Google; from the Coral test-data repository)${licenceCopied ? `: \`${PRETRAINED_LICENCE}\` in this folder` : ''} |
| trained on | ${source.trainedOn} |
| input | RGB ${image.imageSize}x${image.imageSize}, centre crop, CLIP mean/std (the encoder converts to the file's pixel / 128 - 1) |
| classes | ImageNet-1k, standard (sorted WNID) order; names and WNIDs in \`${PRETRAINED_FILE}\` |

Files: \`${PRETRAINED_FILE}\` (encoder config, classes, WNIDs, source, preprocessing), \`${PRETRAINED_CHECKPOINT}\`
(encoder and head, tensors named \`model.imageEncoder.…\`, \`model.head.…\`), \`${PRETRAINED_CLASSIFIER}\` (the network as a
hyperclip classifier: softmax over the 1000 names, norms folded into the convolutions).

Measure its ImageNet top-1 on the 1000-image sample (one image per class; a smoke test, not a benchmark):

    hyperclip eval --model DIR --dataset imagenet-sample                 # libtorch
    hyperclip eval --model DIR --dataset imagenet-sample --engine onnx   # classifier.onnx on onnxruntime

Use it: \`hyperclip classify DIR/${PRETRAINED_CLASSIFIER} photo.jpg\`, or start a recipe's image encoder from it with
\`init: { from: DIR, parts: ['imageEncoder'] }\`. Any model whose encoder starts from these weights has seen
ImageNet-1k's labelled images: its zero-shot figures must say so, and ImageNet's classes count as training labels
in every overlap report.
`;
}
