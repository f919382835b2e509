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

export function checkClassnames(value: unknown, source: string): string[] {
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'string')) throw new Error(`${source}: expected a list of class names`);
  const names = value.map((n: string) => n.trim());
  if (names.length === 0) throw new Error(`${source}: the class list is empty`);
  if (names.some((n) => n === '')) throw new Error(`${source}: a class name is empty`);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n.toLowerCase())) throw new Error(`${source}: class "${n}" appears twice`);
    seen.add(n.toLowerCase());
  }
  return names;
}
