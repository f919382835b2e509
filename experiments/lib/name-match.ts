// Whole-word matching of class names in text, singular or plural, and the
// captions of a captioned split: shared by the caption-coverage and overlap reports.
import { iterateSamples } from '../../src/data/index.js';

export const words = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/** The spellings of a class name that count as naming it: as is, and with its last word in plural. */
export function spellings(classname: string): string[][] {
  const base = words(classname);
  const last = base.at(-1)!;
  const plurals = [`${last}s`, `${last}es`, last.endsWith('y') ? `${last.slice(0, -1)}ies` : null, last.endsWith('f') ? `${last.slice(0, -1)}ves` : null];
  return [base, ...plurals.filter((p): p is string => p !== null).map((p) => [...base.slice(0, -1), p])];
}

export function contains(haystack: string[], needle: string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A predicate: does a tokenised text name the class (any spelling)? */
export function namer(classname: string): (text: string[]) => boolean {
  const forms = spellings(classname);
  return (text) => forms.some((form) => contains(text, form));
}

/** The captions of each image of a captioned split (Flickr8k-style: a .json with "captions", or a .txt). */
export async function captionsPerImage(shards: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const sample of iterateSamples(shards)) {
    const json = sample.members.get('json');
    const parsed = json ? (JSON.parse(json.toString('utf8')) as { captions?: unknown }).captions : undefined;
    const captions = Array.isArray(parsed) ? parsed.filter((c): c is string => typeof c === 'string') : [sample.members.get('txt')?.toString('utf8') ?? ''];
    out.set(sample.key, captions.filter((c) => c.trim().length > 0));
  }
  return out;
}

