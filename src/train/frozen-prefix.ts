// The frozen prefix of the image encoder: the stem and the leading blocks
// with no trainable parameter and no generated norm. It runs once per batch
// without gradients, and every loss (and the distillation teacher) continues
// from its output, instead of each running the whole encoder.
import { noGrad, type Tensor } from '../engine/index.js';
import { identicalTensors } from '../models/import/pretrained-ref.js';
import type { HyperClip, PrefixFeatures } from '../models/hyperclip.js';
import type { LabelClassifier } from '../models/label-classifier.js';

/** How many leading blocks are frozen after a frozen stem; null when the stem itself trains or is generated. */
export function frozenPrefixBlocks(model: HyperClip): number | null {
  const generated = new Set(model.hypernet?.targets.map((t) => t.name) ?? []);
  const trains = (prefix: string): boolean => [...model.imageEncoder.namedParameters()].some(([n, p]) => n.startsWith(prefix) && p.requiresGrad);
  const isGenerated = (prefix: string): boolean => [...generated].some((n) => n.startsWith(prefix));
  if (trains('stem.') || isGenerated('stem.')) return null;
  let blocks = 0;
  while (blocks < model.imageEncoder.blocks.length && !trains(`blocks.${blocks}.`) && !isGenerated(`blocks.${blocks}.`)) blocks++;
  return blocks;
}

export function computePrefix(model: HyperClip, images: Tensor, blocks: number): PrefixFeatures {
  return { prefix: noGrad(() => model.imageEncoder.forwardPrefix(images, blocks)), block: blocks };
}

/** The teacher continues from the model's prefix: their stem and first blocks must hold the same weights. */
export function checkSharedPrefix(model: HyperClip, teacher: LabelClassifier, blocks: number): void {
  const teacherState = new Map([...teacher.imageEncoder.namedParameters()]);
  for (const [name, p] of model.imageEncoder.namedParameters()) {
    const inPrefix = name.startsWith('stem.') || Array.from({ length: blocks }, (_, b) => `blocks.${b}.`).some((b) => name.startsWith(b));
    if (!inPrefix) continue;
    if (!identicalTensors(teacherState.get(name), p)) {
      throw new Error(`distill: imageEncoder.${name} differs from the teacher's: start the image encoder from the teacher (init) and freeze it, so both share the frozen prefix`);
    }
  }
}
