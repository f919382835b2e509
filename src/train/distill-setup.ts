// Builds a recipe's distillation: the teacher (a pretrained folder from
// `hyperclip import`, or a .tflite file read directly), ImageNet's names with
// WordNet phrases, CLIP's ImageNet templates, the held-out synsets removed.
import { loadPretrainedFolder } from '../bundle/pretrained.js';
import { imagenetTemplates, labelPhrases, WordNet } from '../data/index.js';
import { heldOutClasses } from '../data/held-out.js';
import { imagenetClasses } from '../data/imagenet-classes.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import { importMobileNetFile, pretrainedFile } from '../models/import/pretrained-ref.js';
import type { LabelClassifier } from '../models/label-classifier.js';
import type { HyperClip } from '../models/hyperclip.js';
import { HeadDistillation, imagenetDistillTask, type DistillConfig } from './distill.js';
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
  const phrases = labelPhrases(names.synonyms, WordNet.load(), { hypernymLevels: 2, wnids });
  const task = imagenetDistillTask(names, phrases, heldOutClasses().wnids, imagenetTemplates());
  return new HeadDistillation(teacher, task, config, tokenizer, seed);
}
