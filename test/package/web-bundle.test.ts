// `hyperclip/web` bundled for the browser as a user's bundler would (esbuild,
// platform browser, the package resolved through its exports map): the
// build must succeed without any Node built-in, native addon or Node-only
// package, and a page's TypeScript type-checks against it with the DOM
// library and no Node types. The bundle then runs its own API end to end: the default model
// fetched over HTTP, a classifier generated for real class names, real
// CIFAR-10 pixels classified; with onnxruntime-node standing in for
// onnxruntime-web (the same API, which hyperclip/web takes as a parameter),
// the results must equal the Node entry's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import * as ortNode from 'onnxruntime-node';
import sharp from 'sharp';
import { defaultModelDir } from '../../src/bundle/bundle.js';
import { deployedFileNames } from '../../src/models/folder-layout.js';
import { generate } from '../../src/index.js';
import type * as Web from '../../src/web.js';
import { cifarImages } from '../deploy/real-images.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PAGE_TYPESCRIPT = `
import { loadModel, type WebClassifier, type LabelScore } from 'hyperclip/web';
declare const ort: object;
declare const file: File;
const model = await loadModel('/model/', { ort });
const classifier: WebClassifier = await model.generate(['cat', 'dog']);
const labels: LabelScore[] = await classifier.classify(file, { topK: 1 });
const many: LabelScore[][] = await classifier.classify([new ImageData(4, 4), { data: new Uint8Array(48), width: 4, height: 4, channels: 3 }]);
// @ts-expect-error the browser has no file paths
await classifier.classify('cat.jpg');
export const count = many.length;
export const first: string | undefined = labels[0]?.label;
`;

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The default model folder over HTTP, as `hyperclip serve` or any static host would serve it. */
function serveModel(): Promise<{ server: Server; url: string }> {
  const dir = defaultModelDir();
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/model\//, '');
    if (!deployedFileNames().includes(name)) return void res.writeHead(404).end();
    try {
      res.writeHead(200).end(readFileSync(path.join(dir, name)));
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/model/` });
  }));
}

test('hyperclip/web bundles for the browser without Node modules, and its bundle generates and classifies', { timeout: 120_000 }, async (t) => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'hyperclip-web-bundle-'));
  const { server, url } = await serveModel();
  try {
    // A user's page: node_modules/hyperclip is the project (resolved through its package.json exports).
    mkdirSync(path.join(tmp, 'node_modules'));
    symlinkSync(ROOT, path.join(tmp, 'node_modules', 'hyperclip'), 'dir');
    const result = await build({
      stdin: { contents: "export * from 'hyperclip/web';", resolveDir: tmp, loader: 'js' },
      bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, metafile: true, logLevel: 'silent',
      outfile: path.join(tmp, 'page.js'),
    });
    assert.deepEqual(result.errors, []);
    const inputs = Object.keys(result.metafile.inputs);
    const nodeOnly = inputs.filter((f) => /^node:|onnxruntime-node|sharp|\.node$|\/native\/|\/engine\/|tar-stream|commander/.test(f));
    assert.deepEqual(nodeOnly, [], 'the browser bundle pulled in Node-only code');
    const code = result.outputFiles[0]!.text;
    assert.doesNotMatch(code, /require\(["']|from ["']node:/, 'the bundle still imports something at run time');
    t.diagnostic(`hyperclip/web bundle: ${(code.length / 1024).toFixed(0)} KB from ${inputs.length} modules`);

    // The page's types: DOM library, no Node types, every declaration file checked.
    writeFileSync(path.join(tmp, 'page.ts'), PAGE_TYPESCRIPT);
    writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: false },
      files: ['page.ts'],
    }));
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);

    // Run the bundle itself.
    const bundleFile = path.join(tmp, 'page.mjs');
    writeFileSync(bundleFile, code);
    const web = (await import(pathToFileURL(bundleFile).href)) as typeof Web;
    const model = await web.loadModel(url, { ort: ortNode, sessionOptions: { executionProviders: ['cpu'] } });
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'models/default/config.json'), 'utf8')) as { config: { image: { imageSize: number } } };
    assert.equal(model.imageSize, shipped.config.image.imageSize, 'the web model reads the default model\'s input size');
    const classifier = await model.generate(CLASSES);
    const images = await cifarImages(2);
    const pixels = await Promise.all(images.map(async ({ jpeg }) => {
      const { data, info } = await sharp(jpeg).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
    }));
    const fromBundle = await classifier.classify(pixels, { topK: 3 });
    assert.deepEqual(await classifier.classifyPixels(pixels[1]!, { topK: 3 }), fromBundle[1]);
    await classifier.release();

    const onNode = await generate(CLASSES);
    const expected = await onNode.classify(images.map((i) => i.jpeg), { topK: 3 });
    await onNode.release();
    fromBundle.forEach((labels, i) => labels.forEach((l, j) => {
      assert.equal(l.label, expected[i]![j]!.label);
      assert.ok(Math.abs(l.probability - expected[i]![j]!.probability) < 1e-5, `${l.probability} vs ${expected[i]![j]!.probability}`);
    }));
  } finally {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
