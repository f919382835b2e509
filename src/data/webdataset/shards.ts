// Shard lists: brace patterns ("train-{000000..000005}.tar.gz", "{a,b}"),
// comma or whitespace separated lists, arrays; and the check, before anything
// starts, that every shard exists.
import { statSync } from 'node:fs';

function expandOne(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    if (pattern[i] === '{') depth++;
    else if (pattern[i] === '}' && --depth === 0) { close = i; break; }
  }
  if (close < 0) throw new Error(`unbalanced brace in shard pattern "${pattern}"`);
  const head = pattern.slice(0, open);
  const body = pattern.slice(open + 1, close);
  const tails = expandOne(pattern.slice(close + 1));
  const out: string[] = [];
  for (const middle of expandBody(body, pattern)) {
    for (const tail of tails) out.push(head + middle + tail);
  }
  return out;
}

function expandBody(body: string, pattern: string): string[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  if (range) {
    const [, from, to] = range;
    const start = Number(from);
    const end = Number(to);
    if (end < start) throw new Error(`empty range {${body}} in shard pattern "${pattern}"`);
    const width = from.length === to.length ? from.length : 0;
    const out: string[] = [];
    for (let i = start; i <= end; i++) out.push(String(i).padStart(width, '0'));
    return out;
  }
  return splitTopLevel(body, ',').flatMap(expandOne);
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === separator && depth === 0) { parts.push(current); current = ''; } else current += ch;
  }
  parts.push(current);
  return parts;
}

/**
 * Expands shard specs into a flat list of paths. Accepts an array or a
 * string; top-level commas or whitespace separate entries (also "::", the
 * WebDataset list separator); braces expand.
 */
export function expandShards(spec: string | readonly string[]): string[] {
  const entries = typeof spec === 'string' ? [spec] : [...spec];
  const out: string[] = [];
  for (const entry of entries) {
    for (const part of splitTopLevel(entry.replaceAll('::', ','), ',')) {
      for (const word of part.trim().split(/\s+/)) if (word) out.push(...expandOne(word));
    }
  }
  if (out.length === 0) throw new Error(`no shards in ${JSON.stringify(spec)}: give paths like "dir/train-{000000..000005}.tar.gz"`);
  return out;
}

/** Throws one clear error naming every missing shard, before anything starts. */
export function assertShardsExist(shards: readonly string[]): void {
  const missing = shards.filter((path) => {
    try { return !statSync(path).isFile(); } catch { return true; }
  });
  if (missing.length === 0) return;
  const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? `, ... (${missing.length} in all)` : '');
  throw new Error(`shard not found: ${shown}; check the path or pattern, or set HYPERCLIP_DATA to the data folder`);
}
