// Browser stand-in for node:path: basename names a tokenizer that has no
// name of its own; the rest belongs to file paths the page never builds.
import { unavailable } from './unavailable.js';

function basename(p: string, ext?: string): string {
  const base = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext !== undefined && base.endsWith(ext) ? base.slice(0, -ext.length) : base;
}

const path = {
  sep: '/',
  basename,
  join: unavailable('node:path join'),
  resolve: unavailable('node:path resolve'),
  dirname: unavailable('node:path dirname'),
  extname: unavailable('node:path extname'),
};

export default path;
export const { sep, join, resolve, dirname, extname } = path;
export { basename };
