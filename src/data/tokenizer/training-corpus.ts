// The texts the default vocabulary is trained on: every Flickr8k TRAIN
// caption (all 5 per image, from the .json member; .txt when the .json is
// unusable) plus the class names and prompt templates of CIFAR-10, CIFAR-100
// and ImageNet, so zero-shot prompts tokenise as compactly as captions.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clipPrompts, dataRoot, resolveDataset } from '../datasets.js';
import { imagenetClasses } from '../imagenet-classes.js';
import { labelPhrases } from '../label-phrases.js';
import { WordNet } from '../wordnet.js';
import { iterateSamples } from '../webdataset/reader.js';
import { assertShardsExist } from '../webdataset/shards.js';
import { SkipCounter } from '../webdataset/skip-counter.js';

export interface TrainingCorpus {
  captions: string[];
  /** Class names and templates (with the class slot removed). */
  promptTexts: string[];
  images: number;
  skipped: SkipCounter;
}

/** All captions of the given caption shards; onProgress(images read so far). */
export async function readCaptions(
  shards: string[],
  skipped: SkipCounter,
  onProgress?: (images: number) => void,
): Promise<{ captions: string[]; images: number }> {
  assertShardsExist(shards);
  const captions: string[] = [];
  let images = 0;
  for await (const sample of iterateSamples(shards, { skipCounter: skipped })) {
    const found = sampleCaptions(sample.members);
    if (found.length === 0) {
      skipped.add('missing_caption', `${sample.shard}:${sample.key}`);
      continue;
    }
    captions.push(...found);
    images++;
    if (images % 1000 === 0) onProgress?.(images);
  }
  if (images % 1000 !== 0) onProgress?.(images);
  return { captions, images };
}

function sampleCaptions(members: Map<string, Buffer>): string[] {
  const json = members.get('json');
  if (json !== undefined) {
    try {
      const captions = (JSON.parse(json.toString('utf8')) as { captions?: unknown }).captions;
      if (Array.isArray(captions)) {
        const usable = captions.filter((c): c is string => typeof c === 'string' && c.trim() !== '');
        if (usable.length > 0) return usable;
      }
    } catch {
      // A damaged .json falls back to the .txt member below.
    }
  }
  const txt = members.get('txt')?.toString('utf8').trim();
  return txt ? [txt] : [];
}

/** Class names and templates of CIFAR-10, CIFAR-100 and ImageNet from the prompts folder. */
export function promptTexts(): string[] {
  const texts: string[] = [];
  for (const key of ['CIFAR10', 'CIFAR100']) {
    const { classes, templates } = clipPrompts(key);
    texts.push(...classes, ...templates.map(withoutSlot));
  }
  const prompts = join(dataRoot(), 'prompts');
  for (const name of ['imagenet_classes.json', 'imagenet_templates_80.json']) {
    const file = join(prompts, name);
    if (!existsSync(file)) throw new Error(`missing ${file}: set HYPERCLIP_DATA to the folder holding prompts/`);
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(list)) throw new Error(`${file} should hold a JSON array of strings`);
    texts.push(...list.filter((s): s is string => typeof s === 'string').map(withoutSlot));
  }
  return texts;
}

function withoutSlot(template: string): string {
  return template.replaceAll('{}', ' ');
}

/**
 * Every synonym of ImageNet-1k's classes (the pretrained networks' label
 * file) and of Tiny ImageNet's, with their WordNet hypernym phrases: the
 * names users type and the distillation teacher's classes, so that they
 * tokenise into whole words that the word prior knows.
 */
export function wordnetNameTexts(): string[] {
  const { synonyms } = imagenetClasses();
  const tinyFile = join(dataRoot(), 'tiny-imagenet', 'synonyms.json');
  if (!existsSync(tinyFile)) throw new Error(`missing ${tinyFile}: set HYPERCLIP_DATA to the folder holding tiny-imagenet/`);
  const tiny = JSON.parse(readFileSync(tinyFile, 'utf8')) as string[][];
  return labelPhrases([...synonyms, ...tiny], WordNet.load(), { hypernymLevels: 2 }).flat();
}

/** Everything `hyperclip tokenizer train` learns from; caption shards default to Flickr8k train. */
export async function readTrainingCorpus(
  options: { shards?: string[]; onProgress?: (images: number) => void; wordnetNames?: boolean } = {},
): Promise<TrainingCorpus> {
  const skipped = new SkipCounter();
  const promptList = options.wordnetNames === true ? [...promptTexts(), ...wordnetNameTexts()] : promptTexts();
  const shards = options.shards ?? resolveDataset('flickr8k', 'train').shards;
  const { captions, images } = await readCaptions(shards, skipped, options.onProgress);
  return { captions, promptTexts: promptList, images, skipped };
}
