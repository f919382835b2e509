// The one dataset resolver: what a user names with --dataset, --train,
// --test, --calib or a recipe's data source, turned into a loader source.
//   cifar10, cifar10:train     a named dataset under the data root (datasets.ts)
//   "val-{000..003}.tar", out/ WebDataset shards, or a folder of them (class names
//                              from the option or classnames.json beside them)
//   photos/                    an image folder: photos/cat/*.jpg (labelled), or
//                              a plain folder of images (unlabelled)
//   pairs.csv, pairs.tsv       image paths and captions (OpenCLIP's CSV)
//   images.txt                 a list of image paths (unlabelled)
// Each consumer says what it needs (labels, captions or only images), and
// data that cannot give it fails here, in one line that says what to give.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SIMPLE_TEMPLATES, type CaptionSource } from './captions.js';
import { DATASETS, resolveDataset, type DatasetName, type LabelNaming } from './datasets.js';
import type { LabelSenses } from './label-phrases.js';
import { listCsvPairs, type CsvColumns } from './files/csv-pairs.js';
import { listImageFolder, listImageListFile, listImages } from './files/image-folder.js';
import { isImageFile, readFolder } from './files/listing.js';
import type { LoaderSource } from './loader.js';
import { expandShards } from './webdataset/shards.js';

export type DataKind = 'named' | 'shards' | 'image-folder' | 'images' | 'csv';

/** What a consumer reads: class labels (zero-shot, few-shot), captions (training, model calibration) or pixels only. */
export type DataNeed = 'labels' | 'captions' | 'images';

export interface ResolveOptions {
  /** The split of a named dataset given without one ("cifar10"); default its evaluation split. */
  split?: string;
  /** The label order: names for the .cls indices of shards, or the folders of an image folder (which they must name exactly). */
  classnames?: string[];
  /** Captions of labelled data: a named dataset's CLIP set (its default), or "a photo of a {}." (the default for your own data). */
  templates?: 'simple' | 'clip';
  naming?: LabelNaming;
  /** With naming 'wordnet': the WordNet sense from the class's names (default) or its WordNet id (label-phrases.ts). */
  senses?: LabelSenses;
  csv?: CsvColumns;
  need?: DataNeed;
}

export interface ResolvedData {
  /** For summaries and messages: "cifar10 test", "photos/". */
  name: string;
  kind: DataKind;
  source: LoaderSource;
  /** Class names of labelled data, in label order; null for captions or images only. */
  classnames: string[] | null;
  /** The dataset's own CLIP templates (named labelled datasets), else null. */
  clipTemplates: string[] | null;
}

const SHARD_FILE = /\.(tar|tar\.gz|tgz)$/i;
const TABLE_FILE = /\.(csv|tsv)$/i;

function labelCaption(classnames: string[], clipTemplates: string[] | null, choice: 'simple' | 'clip' | undefined, name: string): CaptionSource {
  if (choice === 'clip' && clipTemplates === null) throw new Error(`${name} has no CLIP template set: use templates "simple" (a photo of a {}.)`);
  const useClip = clipTemplates !== null && choice !== 'simple';
  return { kind: 'label', classnames, templates: useClip ? clipTemplates : [...SIMPLE_TEMPLATES] };
}

function fromNamed(name: DatasetName, split: string, options: ResolveOptions): ResolvedData {
  const resolved = resolveDataset(name, split, options.templates ?? 'clip', options.naming ?? 'classname', options.senses ?? 'by-name');
  const title = `${name} ${split}`;
  if (resolved.caption.kind !== 'label') {
    return { name: title, kind: 'named', source: { shards: resolved.shards, caption: resolved.caption }, classnames: null, clipTemplates: null };
  }
  const clipTemplates = options.templates === 'simple' ? null : resolved.caption.templates;
  // Given class names rename the classes (same indices); the captions then use them.
  const caption = options.classnames ? { ...resolved.caption, classnames: options.classnames, names: undefined } : resolved.caption;
  return { name: title, kind: 'named', source: { shards: resolved.shards, caption }, classnames: caption.classnames, clipTemplates };
}

/** classnames.json beside the shards (as `hyperclip shards` writes it), when there is one. */
function classnamesBeside(dir: string): string[] | null {
  const file = path.join(dir, 'classnames.json');
  if (!existsSync(file)) return null;
  const names: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error(`${file} must be a JSON list of class names`);
  return names.map((n: string) => n.replaceAll('_', ' '));
}

function fromShards(name: string, shards: string[], options: ResolveOptions): ResolvedData {
  const classnames = options.classnames ?? classnamesBeside(path.dirname(shards[0]!));
  const caption: CaptionSource = classnames === null ? { kind: 'text' } : labelCaption(classnames, null, options.templates, name);
  return { name, kind: 'shards', source: { shards, caption }, classnames, clipTemplates: null };
}

function fromFolder(dir: string, options: ResolveOptions): ResolvedData {
  const { folders, files } = readFolder(dir);
  const shards = files.filter((f) => SHARD_FILE.test(f));
  if (shards.length > 0) return fromShards(dir, shards.map((f) => path.join(dir, f)), options);
  if (folders.length > 0) {
    const { classnames, list } = listImageFolder(dir, options.classnames);
    return { name: dir, kind: 'image-folder', source: { files: list, caption: labelCaption(classnames, null, options.templates, dir) }, classnames, clipTemplates: null };
  }
  if (!files.some(isImageFile)) throw new Error(`${dir} holds no images, class folders or shards: give a folder of images (or of class folders: ${path.join(dir, 'cat', '1.jpg')})`);
  if (options.classnames !== undefined) throw new Error(`${dir} has no class folders for the class names given: put each class's images in a folder named after it`);
  return imagesOnly(dir, listImages(dir));
}

function imagesOnly(name: string, files: ReturnType<typeof listImages>): ResolvedData {
  return { name, kind: 'images', source: { files, caption: { kind: 'none' } }, classnames: null, clipTemplates: null };
}

const pairsNotLabels = (name: string): string =>
  `${name} holds image-caption pairs, not class labels: give a folder of class folders (photos/cat/1.jpg) or labelled shards`;

function fromCsv(file: string, options: ResolveOptions): ResolvedData {
  // Before parsing: a CSV can never give labels, whatever its columns.
  if (options.need === 'labels') throw new Error(pairsNotLabels(file));
  if (options.classnames !== undefined) throw new Error(`${file} holds image-caption pairs: class names do not apply to it`);
  return { name: file, kind: 'csv', source: { files: listCsvPairs(file, options.csv), caption: { kind: 'text' } }, classnames: null, clipTemplates: null };
}

/** "cifar10" or "cifar10:train" -> the named dataset and split; null when the spec names none. */
function namedSplit(spec: string, split: string | undefined): { name: DatasetName; split: string } | null {
  const [name, given] = spec.split(':');
  if (!(name! in DATASETS) || spec.split(':').length > 2) return null;
  const dataset = name as DatasetName;
  return { name: dataset, split: given ?? split ?? DATASETS[dataset].evalSplit };
}

function detect(spec: string, options: ResolveOptions): ResolvedData {
  const named = namedSplit(spec, options.split);
  if (named) return fromNamed(named.name, named.split, options);
  if (options.split !== undefined) throw new Error(`--split ${options.split} applies to a named dataset (${Object.keys(DATASETS).join(', ')}), not to ${spec}`);
  if (existsSync(spec)) {
    if (statSync(spec).isDirectory()) return fromFolder(spec, options);
    if (TABLE_FILE.test(spec)) return fromCsv(spec, options);
    if (SHARD_FILE.test(spec)) return fromShards(spec, [spec], options);
    if (/\.txt$/i.test(spec)) return imagesOnly(spec, listImageListFile(spec));
    throw new Error(`${spec} is not a dataset: give a folder (of images or class folders), a .csv/.tsv of image paths and captions, a .txt list of images, or .tar shards`);
  }
  if (/[{}\s,]/.test(spec) || SHARD_FILE.test(spec)) return fromShards(spec, expandShards(spec), options);
  if (/^[a-z0-9-]+(:[a-z]+)?$/.test(spec)) {
    throw new Error(`unknown dataset "${spec}": the named ones are ${Object.keys(DATASETS).join(', ')}; your own data is a folder, a CSV/TSV file or shards`);
  }
  throw new Error(`dataset not found: ${spec} is no named dataset (${Object.keys(DATASETS).join(', ')}) and no existing folder, CSV/TSV file or shard`);
}

/** Throws the one line that says what to give when resolved data lacks what a consumer needs. */
export function requireData(data: ResolvedData, need: DataNeed | undefined): void {
  if (need === 'labels' && data.classnames === null) {
    const { name, kind } = data;
    if (kind === 'csv') throw new Error(pairsNotLabels(name));
    if (kind === 'images') throw new Error(`${name} holds images but no class folders: put each class's images in a folder named after it (${path.join(name, 'cat', '1.jpg')})`);
    if (kind === 'shards') throw new Error(`${name}: shards need class names for their .cls indices: give --classnames FILE (or put classnames.json beside them)`);
    const labelled = Object.keys(DATASETS).filter((d) => d !== 'flickr8k');
    throw new Error(`${name} has captions, not class labels: choose a labelled dataset (${labelled.join(', ')}) or your own class folders`);
  }
  if (need === 'captions' && data.kind === 'images') {
    throw new Error(`${data.name} holds images only, without captions or classes: give a CSV/TSV of image paths and captions, or a folder of class folders`);
  }
}

/** Resolves a dataset as a user names it; one error line for data that is missing, malformed or lacks what `need` asks for. */
export function resolveData(spec: string, options: ResolveOptions = {}): ResolvedData {
  const data = detect(spec, options);
  requireData(data, options.need);
  return data;
}
