// ImageNet-1k's classes as the pretrained networks index them: WordNet ids
// (sorted, the standard order) and the synonyms of each, from the label file
// that ships with the networks (its line 0 is the "background" logit).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot } from './datasets.js';

export interface ImagenetClasses {
  wnids: string[];
  synonyms: string[][];
}

export function imagenetClasses(): ImagenetClasses {
  const labelsFile = join(dataRoot(), 'pretrained', 'imagenet_labels.txt');
  const wnidsFile = join(dataRoot(), 'imagenet-sample', 'wnids.json');
  for (const f of [labelsFile, wnidsFile]) if (!existsSync(f)) throw new Error(`missing ${f}: set HYPERCLIP_DATA to the folder holding pretrained/ and imagenet-sample/`);
  const lines = readFileSync(labelsFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const wnids = JSON.parse(readFileSync(wnidsFile, 'utf8')) as string[];
  if (lines.length !== 1001 || lines[0] !== 'background' || wnids.length !== 1000) {
    throw new Error(`${labelsFile} must hold "background" and 1000 class lines, and ${wnidsFile} 1000 WordNet ids`);
  }
  return { wnids, synonyms: lines.slice(1).map((l) => l.split(',').map((s) => s.trim()).filter((s) => s !== '')) };
}

/** Per Tiny ImageNet class (label order), the index of its synset among ImageNet-1k's classes: its logit in a pretrained head. */
export function imagenetIndexOfTinyImagenetClasses(): number[] {
  const file = join(dataRoot(), 'tiny-imagenet', 'wnids.json');
  if (!existsSync(file)) throw new Error(`missing ${file}: set HYPERCLIP_DATA to the folder holding tiny-imagenet/`);
  const tinWnids = JSON.parse(readFileSync(file, 'utf8')) as string[];
  const imagenetWnids = imagenetClasses().wnids;
  const indices = tinWnids.map((w) => imagenetWnids.indexOf(w));
  const missing = indices.indexOf(-1);
  if (missing >= 0) throw new Error(`Tiny ImageNet class ${tinWnids[missing]} is not an ImageNet-1k class: check the data folder`);
  return indices;
}
