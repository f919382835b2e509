// Prompt templates for zero-shot classification: the CLIP sets shipped in the
// data folder, the single "a photo of a {}.", or a user's JSON list.
import { existsSync, readFileSync } from 'node:fs';
import { SIMPLE_TEMPLATES } from '../data/captions.js';
import { CheckedClassNames, checkTemplates } from './prompt-lists.js';

export { CheckedClassNames, checkClassnames, checkTemplates, MAX_CLASSNAME_LENGTH, normalizeClassname } from './prompt-lists.js';

export type TemplateChoice = 'clip' | 'simple' | string;

/** Templates from a choice: 'simple', 'clip' (needs the dataset's CLIP set) or a JSON file of strings with "{}". */
export function resolveTemplates(choice: TemplateChoice, clipSet: string[] | null): string[] {
  if (choice === 'simple') return [...SIMPLE_TEMPLATES];
  if (choice === 'clip') {
    if (clipSet === null) throw new Error('this dataset has no CLIP template set: use --templates simple or a JSON file');
    return clipSet;
  }
  if (!existsSync(choice)) throw new Error(`templates file not found: ${choice} (use clip, simple, or a JSON list of strings with "{}")`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(choice, 'utf8'));
  } catch {
    throw new Error(`${choice} is not JSON: expected a list of templates such as ["a photo of a {}."]`);
  }
  return checkTemplates(parsed, choice);
}

/** Class names from a JSON list file or a text file with one name per line (a UTF-8 byte-order mark is ignored). */
export function readClassnames(file: string): string[] {
  return [...readCheckedClassnames(file).names];
}

/** readClassnames, keeping the checked list so that the layers under it do not check it again. */
export function readCheckedClassnames(file: string): CheckedClassNames {
  if (!existsSync(file)) throw new Error(`class-name file not found: ${file}`);
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  }
  return CheckedClassNames.check(names, file);
}
