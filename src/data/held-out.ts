// The held-out names: a fixed fifth of Tiny ImageNet's classes (every class
// whose index is 2 mod 5: 40 of 202) whose names, captions and ImageNet
// synsets never enter text-side training or distillation. Zero-shot among
// them on their val images measures names never trained on, without reading
// a test set or a target task. Fixed by rule, not chosen by looking.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot } from './datasets.js';
import type { WordNet } from './wordnet.js';

export const HELD_OUT_RULE = 'Tiny ImageNet classes with index % 5 == 2';

export interface HeldOutClasses {
  /** Tiny ImageNet class indices held out, ascending. */
  indices: number[];
  /** The rest: the classes training may use. */
  trainable: number[];
  /** WordNet ids of the held-out classes (ImageNet synsets). */
  wnids: string[];
}

export function heldOutClasses(): HeldOutClasses {
  const file = join(dataRoot(), 'tiny-imagenet', 'wnids.json');
  if (!existsSync(file)) throw new Error(`missing ${file}: the held-out names are defined over Tiny ImageNet's classes`);
  const wnids = JSON.parse(readFileSync(file, 'utf8')) as string[];
  const indices = wnids.map((_, i) => i).filter((i) => i % 5 === 2);
  const trainable = wnids.map((_, i) => i).filter((i) => i % 5 !== 2);
  return { indices, trainable, wnids: indices.map((i) => wnids[i]!) };
}

/**
 * The names held-out classes go by, which no WordNet node or group above the
 * trainable classes may carry: per class in `indices`, its synonyms, then its
 * synset's words. `synonyms` and `hierarchy.synsets` (an ImagenetHierarchy's)
 * are indexed alike: ImageNet's classes, or Tiny ImageNet's.
 */
export function heldOutNames(indices: readonly number[], synonyms: readonly (readonly string[])[], hierarchy: { readonly wordnet: WordNet; readonly synsets: readonly number[] }): string[] {
  return indices.flatMap((k) => [...synonyms[k]!, ...hierarchy.wordnet.synset(hierarchy.synsets[k]!).words]);
}
