// `hyperclip serve`: the browser app (web/dist, built when missing or older
// than its sources, shared src/ included) and one model folder's files on an
// HTTP server (static-server.ts) bound to 127.0.0.1 unless --host says otherwise.
// A model folder without its ONNX exports gets them written to a temporary
// folder at start (this needs libtorch; a folder that has them does not).
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEPLOYED_FILES, MODEL_FILES, deployedFileNames } from '../../models/folder-layout.js';
import { projectRoot } from '../../project-root.js';
import { integer } from '../parse.js';
import { DEFAULT_HOST, startServer } from '../static-server.js';

interface ServeCliOptions {
  port: number;
  host: string;
  model?: string;
  rebuild?: boolean;
}

// The page's model contract: what /model/ serves, nothing else.
const GENERATOR = MODEL_FILES.generator;
const ENCODER = MODEL_FILES.encoder;
const SERVED_FILES: string[] = deployedFileNames();

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the browser app on localhost: type class names, generate a classifier in the page, classify your images')
    .option('--port <n>', 'port (0 picks a free one)', integer('port', 0, 65535), 5173)
    .option('--host <address>', 'address to listen on; anything but loopback makes the page and model reachable from other machines', DEFAULT_HOST)
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--rebuild', 'build the page even when web/dist looks up to date')
    .addHelpText('after', '\nExamples:\n  hyperclip serve\n  hyperclip serve --port 8080 --model runs/my-model')
    .action(async (opts: ServeCliOptions) => {
      const root = projectRoot();
      const modelDir = path.resolve(opts.model ?? path.join(root, 'models', 'default'));
      const { files, dirs, cleanup } = await modelFiles(modelDir, opts.model === undefined);
      let dist: string;
      try {
        dist = await ensureWebBuilt(root, opts.rebuild === true);
      } catch (err) {
        cleanup();
        throw err;
      }
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({ pageDir: dist, modelFiles: files, modelDirs: dirs }, opts.port, opts.host);
      } catch (err) {
        cleanup();
        throw err;
      }
      const stop = () => {
        server.close();
        cleanup();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const { port } = server.address() as { port: number };
      if (!['127.0.0.1', '::1', 'localhost'].includes(opts.host)) process.stderr.write(`listening on ${opts.host}: other machines on the network can load the page and the model\n`);
      const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      console.log(`serving the hyperclip web app at http://${shown}:${port}/ with the model ${modelDir} (Ctrl+C stops)`);
    });
}

/**
 * web/dist, built first when it is missing or older than the page's sources.
 * An installed package has no sources: its prebuilt web/dist is served as is.
 * Builds are serialised by a lock folder, so two processes (two servers, or
 * a server and the package test) never write web/dist at the same time.
 */
export async function ensureWebBuilt(root: string, force = false): Promise<string> {
  const web = path.join(root, 'web');
  const dist = path.join(web, 'dist');
  const index = path.join(dist, 'index.html');
  if (!existsSync(path.join(web, 'src'))) {
    if (existsSync(index)) return dist;
    throw new Error(`the web app is missing (${dist}): reinstall hyperclip, or build it from a clone with \`npm run web:build\``);
  }
  const fresh = () => existsSync(index) && newestSource(web) <= statSync(index).mtimeMs;
  if (!force && fresh()) return dist;
  const release = await buildLock(web);
  try {
    if (!force && fresh()) return dist; // built by another process while this one waited
    const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
    if (!existsSync(vite)) throw new Error(`the web app is not built (${dist}) and vite is not installed: run \`npm install\` with dev dependencies, then \`npm run web:build\``);
    process.stderr.write('building the web app (vite)...\n');
    const build = spawnSync(process.execPath, [vite, 'build', '--config', path.join(web, 'vite.config.ts'), '--logLevel', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (build.status !== 0) throw new Error(`building the web app failed (vite exit ${build.status}); run \`npm run web:build\` to see why`);
    return dist;
  } finally {
    release();
  }
}

// A lock older than this was left by a build that died.
const STALE_LOCK_MS = 5 * 60_000;

async function buildLock(web: string): Promise<() => void> {
  const lock = path.join(web, '.build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** The newest modification time among the page's sources and the shared src/ code it bundles. */
function newestSource(web: string): number {
  const files = ['index.html', 'vite.config.ts'].map((f) => path.join(web, f));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(web, 'src'));
  walk(path.join(path.dirname(web), 'src'));
  return Math.max(...files.filter((f) => existsSync(f)).map((f) => statSync(f).mtimeMs));
}

/** The served model files by name; the ONNX exports come from a temporary folder when the model folder lacks them. */
async function modelFiles(dir: string, isDefault: boolean): Promise<{ files: Map<string, string>; dirs: string[]; cleanup: () => void }> {
  if (!existsSync(dir)) {
    throw new Error(isDefault
      ? `the default model is missing (${dir}): train one with \`hyperclip train --preset tiny-hyperclip\` or pass --model DIR`
      : `no model folder at ${dir}: pass the folder that holds ${MODEL_FILES.config}, ${MODEL_FILES.tokenizer} and ${MODEL_FILES.weights} (or ${GENERATOR} and ${ENCODER})`);
  }
  const files = new Map(SERVED_FILES.filter((f) => existsSync(path.join(dir, f))).map((f) => [f, path.join(dir, f)]));
  // The ONNX files may be exported below; the rest the page needs must be there.
  for (const required of DEPLOYED_FILES.required.map((role) => MODEL_FILES[role]).filter((f) => f !== GENERATOR && f !== ENCODER)) {
    if (!files.has(required)) throw new Error(`${dir} has no ${required}: it is not a complete hyperclip model folder`);
  }
  if (files.has(GENERATOR) && files.has(ENCODER)) return { files, dirs: [dir], cleanup: () => {} };
  const exported = mkdtempSync(path.join(tmpdir(), 'hyperclip-serve-'));
  try {
    await exportForWeb(dir, exported, files);
  } catch (err) {
    rmSync(exported, { recursive: true, force: true });
    throw err;
  }
  return { files, dirs: [dir, exported], cleanup: () => rmSync(exported, { recursive: true, force: true }) };
}

async function exportForWeb(dir: string, out: string, files: Map<string, string>): Promise<void> {
  process.stderr.write(`${dir} has no ${GENERATOR} / ${ENCODER} (\`hyperclip export-onnx\` writes them there): exporting them for this session...\n`);
  // Imported here so that serving a folder with its ONNX files never loads libtorch.
  const { loadBundle } = await import('../../bundle/bundle.js');
  const { exportGenerator, exportConditionedEncoder } = await import('../../deploy/export-models.js');
  const { SIMPLE_TEMPLATES } = await import('../../data/captions.js');
  const started = performance.now();
  const bundle = loadBundle(dir);
  try {
    writeFileSync(path.join(out, GENERATOR), exportGenerator(bundle.model, [...SIMPLE_TEMPLATES]));
    writeFileSync(path.join(out, ENCODER), exportConditionedEncoder(bundle.model));
  } finally {
    bundle.model.dispose();
  }
  for (const f of [GENERATOR, ENCODER]) files.set(f, path.join(out, f));
  process.stderr.write(`exported in ${((performance.now() - started) / 1000).toFixed(1)} s to ${out}\n`);
}
