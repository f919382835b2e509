// Periodic validation during training, on data that is no test set: CIFAR-10
// zero-shot on a sample of its TRAIN split (no recipe trains on CIFAR-10, so
// these images are unseen), Flickr8k val retrieval and, when asked, Tiny
// ImageNet val (classes some recipes train on: a seen-class signal), its
// held-out names and its trainable classes in WordNet groups (generic names:
// "dog", "truck"). Model selection reads these; test sets are read once, for
// the report.
import { releaseMemory } from '../engine/index.js';
import { evalPreprocess, resolveDataset, type CaptionSource, type LoaderSource } from '../data/index.js';
import type { Bundle } from '../bundle/bundle.js';
import { evaluateClassification, rankWithLabelClassifier } from '../eval/classification.js';
import { evaluateRetrieval, type RetrievalResult } from '../eval/retrieval.js';
import { evaluateZeroShot, type ZeroShotOptions, type ZeroShotResult } from '../eval/zeroshot.js';
import type { LabelClassifier } from '../models/label-classifier.js';
import type { TrainConfig } from './recipes.js';
import type { TrainReporter } from './reporter.js';
import { heldOutClasses } from '../data/held-out.js';
import { tinyImagenetGroups } from '../eval/tin-groups.js';
import { namePhrases, type NamePhrases } from '../eval/name-phrases.js';
import { WordNet } from '../data/wordnet.js';

/**
 * Options of a validation figure on a saved model: the feed's, and the
 * class names' prompts (name-phrases.ts; default 'none', the names alone, as
 * training's validation reads them).
 */
export interface ValidationZeroShotOptions extends Omit<ZeroShotOptions, 'phrases'> {
  namePhrases?: NamePhrases;
}

/** A validation zero-shot figure and what its class embeddings were built from. */
export interface PromptedZeroShotResult extends ZeroShotResult {
  /** Prompts through the text encoder: the templates times each class's phrases (its name alone without name phrases), summed over classes. */
  prompts: number;
}

/** Zero-shot with `options`' name phrases (WordNet read once per process: WordNet.shared()), and its prompt count. */
async function promptedZeroShot(bundle: Bundle, source: LoaderSource, names: string[], templates: string[], limit: number | undefined,
  options: ValidationZeroShotOptions): Promise<PromptedZeroShotResult> {
  const { namePhrases: mode = 'none', ...rest } = options;
  const phrases = namePhrases(names, mode);
  const result = await evaluateZeroShot(bundle, source, names, templates, { ...rest, phrases, limit });
  return { ...result, prompts: templates.length * (phrases?.reduce((n, list) => n + list.length, 0) ?? names.length) };
}

export interface ValidationResult {
  cifar10: PromptedZeroShotResult | null;
  retrieval: RetrievalResult | null;
  tinyImagenet?: PromptedZeroShotResult | null;
  /** Zero-shot among the held-out Tiny ImageNet classes on their val images: names never trained on. */
  heldOut?: PromptedZeroShotResult | null;
  /** Zero-shot among WordNet groups of the trainable Tiny ImageNet classes on their val images (src/eval/tin-groups.ts). */
  groups?: GroupsZeroShotResult | null;
}

export interface GroupsZeroShotResult extends PromptedZeroShotResult {
  /** How many groups were scored against each other. */
  groups: number;
}

export async function validate(bundle: Bundle, config: TrainConfig, reporter: TrainReporter): Promise<ValidationResult> {
  bundle.model.eval();
  const { cifar10Limit, retrievalLimit, tinyImagenetLimit = 0 } = config.validation;
  let cifar10: PromptedZeroShotResult | null = null;
  let retrieval: RetrievalResult | null = null;
  let tinyImagenet: PromptedZeroShotResult | null = null;
  if (cifar10Limit > 0) {
    cifar10 = await zeroShot(bundle, 'cifar10', 'train', cifar10Limit);
    reporter.message(`validation: cifar10 zero-shot top-1 ${(100 * cifar10.top1).toFixed(2)}% on ${cifar10.samples} train images (never trained on)`);
  }
  if (tinyImagenetLimit > 0) {
    tinyImagenet = await zeroShot(bundle, 'tiny-imagenet', 'val', tinyImagenetLimit);
    reporter.message(`validation: tiny-imagenet val zero-shot top-1 ${(100 * tinyImagenet.top1).toFixed(2)}% on ${tinyImagenet.samples} images`);
  }
  let heldOut: PromptedZeroShotResult | null = null;
  if ((config.validation.heldOutLimit ?? 0) > 0) {
    heldOut = await heldOutZeroShot(bundle, config.validation.heldOutLimit!);
    reporter.message(`validation: held-out names zero-shot top-1 ${(100 * heldOut.top1).toFixed(2)}% on ${heldOut.samples} tiny-imagenet val images of ${heldOutClasses().indices.length} classes never trained on`);
  }
  let groups: GroupsZeroShotResult | null = null;
  if ((config.validation.groupsLimit ?? 0) > 0) {
    groups = await groupsZeroShot(bundle, config.validation.groupsLimit!);
    reporter.message(`validation: tiny-imagenet val WordNet groups zero-shot top-1 ${(100 * groups.top1).toFixed(2)}% on ${groups.samples} images of ${groups.groups} groups`);
  }
  if (retrievalLimit > 0) {
    const val = resolveDataset('flickr8k', 'val');
    retrieval = await evaluateRetrieval(bundle, { shards: val.shards, caption: val.caption }, { limit: retrievalLimit });
    reporter.message(`validation: flickr8k val retrieval image->text R@1 ${(100 * retrieval.imageToText.r1).toFixed(2)}%, ` +
      `text->image R@1 ${(100 * retrieval.textToImage.r1).toFixed(2)}% (${retrieval.images} images)`);
  }
  // The evaluation batches, the decode workers and their arenas peak at over
  // 1 GB, and the addon never trims the heap on its own: without handing
  // that back, each validation of a long run would leave resident memory higher.
  releaseMemory();
  return { cifar10, retrieval, ...(tinyImagenetLimit > 0 ? { tinyImagenet } : {}), ...(heldOut !== null ? { heldOut } : {}), ...(groups !== null ? { groups } : {}) };
}

/** Zero-shot among the held-out classes only, on their Tiny ImageNet val images (CLIP's ImageNet templates). */
export async function heldOutZeroShot(bundle: Bundle, limit?: number, options: ValidationZeroShotOptions = {}): Promise<PromptedZeroShotResult> {
  const source = resolveDataset('tiny-imagenet', 'val');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  const { indices } = heldOutClasses();
  const classnames = indices.map((i) => caption.classnames[i]!);
  return promptedZeroShot(bundle, { shards: source.shards, caption: { ...caption, subset: indices } }, classnames, caption.templates, limit, options);
}

/**
 * Zero-shot among the WordNet groups of the trainable classes (names such as
 * "dog" and "truck", CLIP's ImageNet templates) on those classes' Tiny
 * ImageNet val images: an image counts as right when its class's group ranks
 * first. Held-out classes' images are not read.
 */
export async function groupsZeroShot(bundle: Bundle, limit?: number, options: ValidationZeroShotOptions = {}): Promise<GroupsZeroShotResult> {
  const source = resolveDataset('tiny-imagenet', 'val');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  const { names, groupOfClass } = tinyImagenetGroups(WordNet.shared());
  const classes = [...groupOfClass.keys()].sort((a, b) => a - b);
  const subset = { subset: classes, subsetLabels: classes.map((k) => groupOfClass.get(k)!) };
  const result = await promptedZeroShot(bundle, { shards: source.shards, caption: { ...caption, ...subset } }, names, caption.templates, limit, options);
  return { ...result, groups: names.length };
}

/** A validation as the flat fields of a metrics line. */
export function validationFields(result: ValidationResult): Record<string, number> {
  const out: Record<string, number> = {};
  if (result.cifar10) { out.cifar10Top1 = result.cifar10.top1; out.cifar10Top5 = result.cifar10.top5; }
  if (result.tinyImagenet) { out.tinyImagenetTop1 = result.tinyImagenet.top1; out.tinyImagenetTop5 = result.tinyImagenet.top5; }
  if (result.heldOut) { out.heldOutTop1 = result.heldOut.top1; out.heldOutTop5 = result.heldOut.top5; }
  if (result.groups) { out.groupsTop1 = result.groups.top1; out.groupsTop5 = result.groups.top5; }
  if (result.retrieval) {
    out.imageToTextR1 = result.retrieval.imageToText.r1; out.imageToTextR5 = result.retrieval.imageToText.r5;
    out.textToImageR1 = result.retrieval.textToImage.r1; out.textToImageR5 = result.retrieval.textToImage.r5;
  }
  return out;
}

/** Zero-shot among all of Tiny ImageNet's classes on a seeded sample of its val images (CLIP's ImageNet templates), as validation reads it. */
export function tinyImagenetValZeroShot(bundle: Bundle, limit?: number, options: ValidationZeroShotOptions = {}): Promise<PromptedZeroShotResult> {
  return zeroShot(bundle, 'tiny-imagenet', 'val', limit, options);
}

async function zeroShot(bundle: Bundle, name: string, split: string, limit?: number, options: ValidationZeroShotOptions = {}): Promise<PromptedZeroShotResult> {
  const source = resolveDataset(name, split);
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  return promptedZeroShot(bundle, { shards: source.shards, caption }, caption.classnames, caption.templates, limit, options);
}

/**
 * Top-1 of the classify objective's head on a seeded sample of Tiny ImageNet
 * val, ranked and counted as every other classification figure is
 * (src/eval/classification.ts, src/eval/scoring.ts).
 */
export async function validateLabelClassifier(classifier: LabelClassifier, imageSize: number, limit: number, reporter: TrainReporter): Promise<number> {
  const source = resolveDataset('tiny-imagenet', 'val');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  if (classifier.classes !== caption.classnames.length) {
    throw new Error(`the classify head has ${classifier.classes} classes but tiny-imagenet val has ${caption.classnames.length}: validate it on the classes it learned`);
  }
  classifier.eval();
  const result = await evaluateClassification(rankWithLabelClassifier(classifier), { shards: source.shards, caption }, caption.classnames,
    evalPreprocess(imageSize), { limit });
  releaseMemory();
  reporter.message(`validation: tiny-imagenet val top-1 ${(100 * result.top1).toFixed(2)}% of the classify head on ${result.samples} images`);
  return result.top1;
}
