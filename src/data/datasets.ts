// Named datasets under the data root (../shared/data from the project root,
// or $HYPERCLIP_DATA): their shards, caption sources and class names.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SIMPLE_TEMPLATES, type CaptionSource } from './captions.js';
import { checkLabelSenses, labelPhrases, type LabelSenses } from './label-phrases.js';
import { WordNet } from './wordnet.js';
import { projectRoot } from '../project-root.js';

/** promptKey: the dataset's entry in CLIP's prompt file; 'imagenet': CLIP's 80 ImageNet templates. */
export const DATASETS = {
  flickr8k: { splits: ['train', 'val', 'test'], promptKey: null, evalSplit: 'test' },
  cifar10: { splits: ['train', 'test'], promptKey: 'CIFAR10', evalSplit: 'test' },
  cifar100: { splits: ['train', 'test'], promptKey: 'CIFAR100', evalSplit: 'test' },
  'tiny-imagenet': { splits: ['train', 'val'], promptKey: 'imagenet', evalSplit: 'val' },
  // One photo per ImageNet-1k class: checks an imported network's head; never trained or selected on.
  'imagenet-sample': { splits: ['val'], promptKey: 'imagenet', evalSplit: 'val' },
} as const;

/**
 * How a labelled sample is named in its captions: its class name, any of its
 * synonyms (datasets with synonyms.json), or those plus WordNet hypernym
 * phrases ("tabby, a kind of cat").
 */
export type LabelNaming = 'classname' | 'synonyms' | 'wordnet';

export type DatasetName = keyof typeof DATASETS;

export interface DatasetSource {
  name: DatasetName;
  split: string;
  shards: string[];
  caption: CaptionSource;
  /** Class names, for labelled datasets. */
  classnames: string[] | null;
}


/** The data root: $HYPERCLIP_DATA, else ../shared/data relative to the project root. */
export function dataRoot(): string {
  const fromEnv = process.env.HYPERCLIP_DATA;
  return fromEnv ? resolve(fromEnv) : resolve(projectRoot(), '..', 'shared', 'data');
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new Error(`missing ${path}: set HYPERCLIP_DATA to the folder holding flickr8k/, cifar10/, cifar100/ and prompts/`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The CLIP prompt templates and class names for a dataset key of prompts/clip_prompts_by_dataset.json (e.g. 'CIFAR10'). */
export function clipPrompts(key: string): { classes: string[]; templates: string[] } {
  const all = readJson(join(dataRoot(), 'prompts', 'clip_prompts_by_dataset.json')) as Record<string, { classes: string[]; templates: string[] }>;
  const entry = all[key];
  if (!entry) throw new Error(`no CLIP prompts for "${key}"; known: ${Object.keys(all).join(', ')}`);
  return entry;
}

/** Class names as captions spell them ("aquarium_fish" -> "aquarium fish", as in the CLIP prompt file). */
function datasetClassnames(folder: string): string[] {
  const raw = readJson(join(folder, 'classnames.json'));
  if (!Array.isArray(raw) || !raw.every((n) => typeof n === 'string')) {
    throw new Error(`${join(folder, 'classnames.json')} must be a JSON array of class names`);
  }
  return raw.map((n: string) => n.replaceAll('_', ' '));
}

export function shardsOfSplit(folder: string, split: string): string[] {
  const pattern = new RegExp(`^${split}-\\d+\\.tar(\\.gz)?$`);
  return existsSync(folder) ? readdirSync(folder).filter((f) => pattern.test(f)).sort().map((f) => join(folder, f)) : [];
}

/**
 * Resolves a named dataset split, e.g. ('cifar10', 'train'). `templates`:
 * 'simple' = "a photo of a {}.", 'clip' = the dataset's CLIP templates.
 * `senses` (naming 'wordnet' only): where the hypernym phrases' WordNet sense
 * comes from, the class's names or its WordNet id (wnids.json; label-phrases.ts).
 */
export function resolveDataset(name: string, split: string, templates: 'simple' | 'clip' = 'clip', naming: LabelNaming = 'classname', senses: LabelSenses = 'by-name'): DatasetSource {
  checkLabelSenses(senses, 'senses');
  if (senses !== 'by-name' && naming !== 'wordnet') throw new Error(`senses "${senses}" applies to naming "wordnet" (WordNet hypernym phrases), not "${naming}"`);
  if (!(name in DATASETS)) throw new Error(`unknown dataset "${name}"; known: ${Object.keys(DATASETS).join(', ')}`);
  const datasetName = name as DatasetName;
  const known: readonly string[] = DATASETS[datasetName].splits;
  if (!known.includes(split)) throw new Error(`unknown split "${split}" of ${name}; known: ${known.join(', ')}`);
  const folder = join(dataRoot(), name);
  const shards = shardsOfSplit(folder, split);
  if (shards.length === 0) {
    throw new Error(`no shards ${split}-*.tar(.gz) in ${folder}: set HYPERCLIP_DATA to the folder holding ${name}/`);
  }
  if (datasetName === 'flickr8k') return { name: datasetName, split, shards, caption: { kind: 'text' }, classnames: null };
  const classnames = datasetClassnames(folder);
  const key = DATASETS[datasetName].promptKey as string;
  const chosen = templates === 'simple' ? SIMPLE_TEMPLATES : key === 'imagenet' ? imagenetTemplates() : clipPrompts(key).templates;
  const caption: CaptionSource = { kind: 'label', classnames, templates: chosen };
  if (naming !== 'classname') caption.names = labelNames(folder, classnames, naming, senses);
  return { name: datasetName, split, shards, caption, classnames };
}

/** CLIP's 80 ImageNet prompt templates. */
export function imagenetTemplates(): string[] {
  const templates = readJson(join(dataRoot(), 'prompts', 'imagenet_templates_80.json'));
  if (!Array.isArray(templates) || !templates.every((t) => typeof t === 'string' && t.includes('{}'))) {
    throw new Error(`${join(dataRoot(), 'prompts', 'imagenet_templates_80.json')} must be a JSON list of templates with {}`);
  }
  return templates;
}

function labelNames(folder: string, classnames: string[], naming: Exclude<LabelNaming, 'classname'>, senses: LabelSenses): string[][] {
  const file = join(folder, 'synonyms.json');
  if (!existsSync(file)) throw new Error(`label naming "${naming}" needs ${file}; this dataset has class names only`);
  const synonyms = readJson(file);
  if (!Array.isArray(synonyms) || synonyms.length !== classnames.length || !synonyms.every((s) => Array.isArray(s) && s.length > 0)) {
    throw new Error(`${file} must hold one non-empty list of synonyms per class (${classnames.length})`);
  }
  const wnids = senses === 'by-wnid' ? datasetWnids(folder, classnames.length) : undefined;
  return labelPhrases(synonyms as string[][], naming === 'wordnet' ? WordNet.load() : null, { hypernymLevels: 2, wnids });
}

/** A dataset's wnids.json: one WordNet id per class, in label order. */
function datasetWnids(folder: string, classes: number): string[] {
  const file = join(folder, 'wnids.json');
  if (!existsSync(file)) throw new Error(`senses "by-wnid" needs ${file} (one WordNet id per class); this dataset has none: use senses "by-name"`);
  const wnids = readJson(file);
  if (!Array.isArray(wnids) || wnids.length !== classes || !wnids.every((w) => typeof w === 'string')) {
    throw new Error(`${file} must hold one WordNet id (e.g. "n02012849") per class (${classes})`);
  }
  return wnids as string[];
}

/** "cifar10:train" -> resolveDataset('cifar10', 'train'). */
export function resolveDatasetSpec(spec: string, templates: 'simple' | 'clip' = 'clip', naming: LabelNaming = 'classname', senses: LabelSenses = 'by-name'): DatasetSource {
  const [name, split] = spec.split(':');
  if (!split) throw new Error(`expected a dataset as NAME:SPLIT (e.g. cifar10:train), received "${spec}"`);
  return resolveDataset(name, split, templates, naming, senses);
}
