// Checks of class-name and template lists, wherever they come from (a file,
// the command line, a web page): no Node imports, so the browser build shares them.

export function checkTemplates(value: unknown, source: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string')) {
    throw new Error(`${source}: expected a non-empty list of template strings`);
  }
  const bad = value.find((t: string) => !t.includes('{}'));
  if (bad !== undefined) throw new Error(`${source}: template "${bad}" has no {} for the class name`);
  return value;
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

/** A class list that passed the check below: normalised names, which the layers under the check use as they are. */
export class CheckedClassNames {
  private constructor(readonly names: readonly string[]) {}

  /**
   * The one check of a class list, wherever it comes from (a flag, a file, a page, a caller): a list of
   * strings, at least `minimum` of them (default 1), each normalised (normalizeClassname), none empty,
   * none too long or holding a control character, none twice (ignoring case, and _ against a space).
   * Throws one line naming `source` and saying what to do.
   */
  static check(value: unknown, source: string, options: { minimum?: number } = {}): CheckedClassNames {
    if (!Array.isArray(value) || !value.every((n) => typeof n === 'string')) throw new Error(`${source}: expected a list of class names`);
    const names = value.map((n: string) => normalizeClassname(n));
    const minimum = options.minimum ?? 1;
    if (names.length === 0) throw new Error(`${source}: the class list is empty: give at least ${minimum === 1 ? 'one class name' : `${minimum} classes`}`);
    if (names.length < minimum) throw new Error(`${source}: give at least ${minimum} classes, got ${names.length}`);
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (n === '') throw new Error(`${source}: class ${i + 1} is empty: remove it or give it a name`);
      const control = /\p{Cc}/u.exec(n);
      if (control) {
        const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        throw new Error(`${source}: class ${i + 1} ${JSON.stringify(n)} holds the control character U+${code}: remove it`);
      }
      if ([...n].length > MAX_CLASSNAME_LENGTH) {
        throw new Error(`${source}: class ${i + 1} is ${[...n].length} characters long (the limit is ${MAX_CLASSNAME_LENGTH}): shorten it`);
      }
      const key = duplicateKey(n);
      if (seen.has(key)) throw new Error(`${source}: class "${n}" appears twice: give each class once`);
      seen.add(key);
    });
    return new CheckedClassNames(names);
  }
}

// "Cat" and "cat", "sea_lion" and "sea lion" name one class (class lists and description files write either).
const duplicateKey = (name: string): string => name.toLowerCase().replaceAll('_', ' ').replace(/\s+/gu, ' ').trim();

/** Normalised class names, or one clear error line (CheckedClassNames.check, as a plain list). */
export function checkClassnames(value: unknown, source: string, options: { minimum?: number } = {}): string[] {
  return [...CheckedClassNames.check(value, source, options).names];
}

/** The names of a list checked above as they are, or a raw list checked now: a generate path checks once. */
export function classNamesOf(value: readonly string[] | CheckedClassNames, source: string): string[] {
  if (value instanceof CheckedClassNames) return [...value.names];
  // A list checked by another copy of this module (a page that bundles two) is checked again, not refused.
  return checkClassnames(Array.isArray(value) ? value : (value as { names?: unknown }).names, source);
}
