// Prompt templates for zero-shot classification: the CLIP sets shipped in the
// data folder, the single "a photo of a {}.", or a user's JSON list.
import { existsSync, readFileSync } from 'node:fs';
import { SIMPLE_TEMPLATES } from '../data/captions.js';

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

export function checkTemplates(value: unknown, source: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string')) {
    throw new Error(`${source}: expected a non-empty list of template strings`);
  }
  const bad = value.find((t: string) => !t.includes('{}'));
  if (bad !== undefined) throw new Error(`${source}: template "${bad}" has no {} for the class name`);
  return value;
}

/** Class names from a JSON list file or a text file with one name per line (a UTF-8 byte-order mark is ignored). */
export function readClassnames(file: string): string[] {
  if (!existsSync(file)) throw new Error(`class-name file not found: ${file}`);
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  }
  return checkClassnames(names, file);
}

/** The text encoder reads only the first few dozen tokens of a name (the rest is cut); far longer ones are refused, not stored in the classifier. */
export const MAX_CLASSNAME_LENGTH = 1000;

/**
 * The stated normalisation of a class name: Unicode NFC, every run of
 * whitespace (tabs and newlines included) one space, none at the ends.
 */
export function normalizeClassname(name: string): string {
  return name.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** Normalised class names, or one clear error: empty, duplicate (ignoring case), too long, or holding a control character. */
export function checkClassnames(value: unknown, source: string): string[] {
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'string')) throw new Error(`${source}: expected a list of class names`);
  const names = value.map((n: string) => normalizeClassname(n));
  if (names.length === 0) throw new Error(`${source}: the class list is empty`);
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (n === '') throw new Error(`${source}: a class name is empty`);
    const control = /\p{Cc}/u.exec(n);
    if (control) {
      const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw new Error(`${source}: class ${i + 1} ${JSON.stringify(n)} holds the control character U+${code}: remove it`);
    }
    if ([...n].length > MAX_CLASSNAME_LENGTH) {
      throw new Error(`${source}: class ${i + 1} is ${[...n].length} characters long (the limit is ${MAX_CLASSNAME_LENGTH}): shorten it`);
    }
    if (seen.has(n.toLowerCase())) throw new Error(`${source}: class "${n}" appears twice`);
    seen.add(n.toLowerCase());
  });
  return names;
}
