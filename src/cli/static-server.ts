// The HTTP side of `hyperclip serve`: GET/HEAD of the page's files under one
// folder and of the model files by their contract names, nothing else. A
// path is served only when its real location (symlinks resolved) lies inside
// the folder it was served from.
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';

export interface StaticSite {
  /** The built page (web/dist). */
  pageDir: string;
  /** Model file name (as under /model/) -> its path. */
  modelFiles: Map<string, string>;
  /** Folders the model files may really live in (the model folder, a temporary export folder). */
  modelDirs: string[];
}

export const DEFAULT_HOST = '127.0.0.1';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json; charset=utf-8',
  '.onnx': 'application/octet-stream', '.md': 'text/markdown; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
};

/** Listens on host:port (port 0: any free one); rejects with one readable line when it cannot. */
export function startServer(site: StaticSite, port: number, host = DEFAULT_HOST): Promise<Server> {
  const roots = { page: realDir(site.pageDir), model: site.modelDirs.map(realDir) };
  const server = createServer((req, res) => respond(req, res, site, roots));
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'EADDRINUSE'
      ? `port ${port} is in use: pick another with --port, or --port 0 for any free one`
      : `cannot listen on ${host}:${port}: ${err.message}${err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' ? ' (give --host an address of this machine)' : ''}`)));
    server.listen(port, host, () => resolve(server));
  });
}

function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** The real path of `file` when it is a regular file inside one of `roots`. */
function inside(file: string, roots: string[]): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
    if (!statSync(real).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return roots.some((root) => real.startsWith(root + path.sep)) ? real : undefined;
}

function respond(req: IncomingMessage, res: ServerResponse, site: StaticSite, roots: { page: string; model: string[] }): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD are served', { Allow: 'GET, HEAD' });
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'malformed URL');
  }
  if (pathname.includes('\0')) return send(res, 400, 'malformed URL');
  const file = pathname.startsWith('/model/')
    ? inside(site.modelFiles.get(pathname.slice('/model/'.length)) ?? '', roots.model)
    : inside(pageFile(site.pageDir, pathname), [roots.page]);
  if (file === undefined) return send(res, 404, `not found: ${pathname}`);
  res.writeHead(200, {
    ...isolationHeaders(),
    'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': statSync(file).size,
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

function pageFile(dir: string, pathname: string): string {
  return path.join(dir, pathname.endsWith('/') ? `${pathname}index.html` : pathname);
}

// Cross-origin isolation lets onnxruntime-web run on several threads.
const isolationHeaders = () => ({
  'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin',
});

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...isolationHeaders(), ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
