// A model folder over HTTP, for the browser (and any fetch): the same reader
// shape as a local folder (folder-read-fs.ts), so loadModelFolder treats a
// fetched file and a local one alike. Only a 404 counts as an absent file.
import type { FolderReader } from './folder-loader.js';

export interface FetchReaderOptions {
  /** What to do about a missing or unreachable file. */
  hint: string;
  /** Default: the global fetch. */
  fetch?: (url: URL) => Promise<Response>;
}

/** A reader of the folder at `url` (a trailing / is added; a relative URL resolves against the page's). */
export function fetchFolderReader(url: string, options: FetchReaderOptions): FolderReader {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  const base = resolveBase(url.endsWith('/') ? url : `${url}/`, page);
  const get = options.fetch ?? ((target: URL) => fetch(target));
  return {
    where: base, label: base, absent: 'HTTP 404', hint: options.hint,
    async read(name: string): Promise<Uint8Array | null> {
      let response: Response;
      try {
        response = await get(new URL(name, base));
      } catch (err) {
        throw new Error(`model file ${name} could not be fetched from ${base} (${(err as Error).message}): ${options.hint}`);
      }
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`model file ${name} is missing at ${base} (HTTP ${response.status}): ${options.hint}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

function resolveBase(url: string, page: string | undefined): string {
  try {
    return new URL(url, page).href;
  } catch {
    throw new Error(`${url} is not a URL: give the model folder's URL, e.g. http://127.0.0.1:5173/model/`);
  }
}
