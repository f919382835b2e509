// Builds a recipe's distillation: the teacher (a pretrained folder from
// `hyperclip import`, or a .tflite file read directly), ImageNet's names with
// WordNet phrases, CLIP's ImageNet templates, the held-out synsets removed.
import { loadPretrainedFolder } from '../bundle/pretrained.js';
import { imagenetTemplates, labelPhrases, WordNet } from '../data/index.js';
import { heldOutClasses, heldOutNames } from '../data/held-out.js';
import { imagenetClasses } from '../data/imagenet-classes.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import { importMobileNetFile, pretrainedFile } from '../models/import/pretrained-ref.js';
import type { LabelClassifier } from '../models/label-classifier.js';
import type { HyperClip } from '../models/hyperclip.js';
import { ImagenetHierarchy } from '../eval/wordnet-lookup.js';
import { allowedClasses, HeadDistillation, imagenetDistillTask, type DistillConfig, type DistillTask } from './distill.js';
import { distillNodes, type DistillNodes } from './distill-nodes.js';
import { checkSharedPrefix } from './frozen-prefix.js';

export function createDistillation(config: DistillConfig, model: HyperClip, prefixBlocks: number | null, tokenizer: Tokenizer, seed: number): HeadDistillation {
  if (prefixBlocks === null) {
    throw new Error('distill: the teacher shares the frozen part of the image encoder; freeze at least its stem (e.g. "freeze": ["imageEncoder"])');
  }
  const tflite = pretrainedFile(config.teacher);
  const teacher: LabelClassifier = tflite !== null
    ? importMobileNetFile(tflite, `distill: no pretrained network at ${tflite}`).classifier
    : loadPretrainedFolder(config.teacher).classifier;
  if (teacher.classes !== 1000) throw new Error(`distill: the teacher has ${teacher.classes} classes; ImageNet-1k's 1000 are expected`);
  checkSharedPrefix(model, teacher, prefixBlocks);
  const names = imagenetClasses();
  const wnids = (config.senses ?? 'by-name') === 'by-wnid' ? names.wnids : undefined;
  const wordnet = WordNet.load();
  const phrases = labelPhrases(names.synonyms, wordnet, { hypernymLevels: 2, wnids });
  const heldOut = heldOutClasses().wnids;
  let task: DistillTask = imagenetDistillTask(names, phrases, heldOut, imagenetTemplates());
  if ((config.nodeTasks ?? 0) > 0) task = { ...task, nodes: imagenetDistillNodes(wordnet, names, heldOut) };
  return new HeadDistillation(teacher, task, config, tokenizer, seed);
}

/** Nodes covering at most a quarter of ImageNet: "dog" and "vehicle", not "entity" or "whole". */
export const NODE_MAX_MEMBERS = 250;

/** The WordNet nodes above ImageNet's allowed classes; no word of a held-out class (its synset's or its synonyms) names one. */
export function imagenetDistillNodes(wordnet: WordNet, names: { wnids: string[]; synonyms: string[][] }, heldOutWnids: readonly string[]): DistillNodes {
  const hierarchy = new ImagenetHierarchy(wordnet, names);
  const heldOut = new Set(heldOutWnids);
  const heldOutClassIndices = names.wnids.flatMap((w, k) => (heldOut.has(w) ? [k] : []));
  const ancestors = names.wnids.map((_, k) => hierarchy.ancestorsOf(k));
  return distillNodes(wordnet, ancestors, hierarchy.synsets, allowedClasses(names.wnids, heldOutWnids), heldOutNames(heldOutClassIndices, names.synonyms, hierarchy), { maxMembers: NODE_MAX_MEMBERS });
}
