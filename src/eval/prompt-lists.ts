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
