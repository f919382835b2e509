// Builds the browser app. Three jobs beyond Vite's defaults:
// - `hyperclip/web` (the package's browser entry, which imports no Node
//   module) resolves to its TypeScript source, as a user's bundler would
//   resolve the installed package to its dist/;
// - onnxruntime-web's .wasm file is emitted with the page's assets (Vite
//   follows the runtime's new URL(..., import.meta.url)), so nothing is
//   fetched from a CDN;
// - preset class lists are read from the data folder at build time.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const webDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.dirname(webDir);

/** Class names from the data folder (underscores as spaces), or null when it is not on this machine. */
function readClassnames(dataset: string): string[] | null {
  const dataRoot = process.env.HYPERCLIP_DATA ? path.resolve(process.env.HYPERCLIP_DATA) : path.join(projectRoot, '..', 'shared', 'data');
  const file = path.join(dataRoot, dataset, 'classnames.json');
  if (!existsSync(file)) return null;
  return (JSON.parse(readFileSync(file, 'utf8')) as string[]).map((n) => n.replaceAll('_', ' '));
}

function presets(): Plugin {
  const id = 'virtual:hyperclip-presets';
  return {
    name: 'hyperclip-presets',
    resolveId: (source) => (source === id ? `\0${id}` : null),
    load(resolved) {
      if (resolved !== `\0${id}`) return null;
      const cifar100 = readClassnames('cifar100');
      return `export const CIFAR100 = ${JSON.stringify(cifar100)};`;
    },
  };
}

// Multi-threaded WASM needs a cross-origin isolated page.
const isolationHeaders = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: webDir,
  base: './',
  resolve: {
    alias: { 'hyperclip/web': path.join(projectRoot, 'src', 'web.ts') },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // onnxruntime-web alone is about 400 KB of JavaScript.
    chunkSizeWarningLimit: 1024,
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: isolationHeaders, fs: { allow: [projectRoot] } },
  preview: { headers: isolationHeaders },
  plugins: [presets()],
});
