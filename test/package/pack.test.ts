// The package as a user gets it: `npm pack`, the tarball unpacked into a
// fresh project with no libtorch addon, then `import ... from 'hyperclip'`
// from an ES module and from a type-checked TypeScript file, generating a
// classifier for real class names and classifying real CIFAR-10 images,
// the CLI's classify, eval (the one-line "build the addon" error) and serve.
//
// Dependencies: the tarball is unpacked into node_modules/hyperclip and each
// of its declared `dependencies` is linked to the project's own installed
// copy, instead of `npm install`ing the tarball. That needs no registry (the
// npm cache here holds tarballs but not the registry metadata an offline
// install asks for) and copies nothing (onnxruntime-node alone is 288 MB),
// so it takes seconds; and because only declared dependencies are linked, a
// module the package imports without declaring it still fails here. The
// package has no install scripts (checked below), so npm would run nothing
// more. README's installed size is measured with a real `npm install`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureWebBuilt } from '../../src/cli/commands/serve.js';
import { generate } from '../../src/index.js';
import { cifarImages } from '../deploy/real-images.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

interface PackResult { filename: string; size: number; unpackedSize: number; files: { path: string }[] }

function run(command: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.HYPERCLIP_ADDON; // the installed package must find no addon of its own
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...env, HYPERCLIP_THREADS: '1' }, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Unpacks the tarball as node_modules/hyperclip and links its declared dependencies (see the file's header). */
function installInto(app: string, tarball: string): void {
  const pkg = path.join(app, 'node_modules', 'hyperclip');
  mkdirSync(pkg, { recursive: true });
  const untar = run('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1'], app);
  assert.equal(untar.status, 0, untar.stderr);
  const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of [...Object.keys(manifest.dependencies), '@types/node']) {
    const link = path.join(app, 'node_modules', dep);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules', dep), link, 'dir');
  }
}

const USER_MODULE = `
import * as hyperclip from 'hyperclip';
import { readFileSync } from 'node:fs';
const [classes, ...images] = process.argv.slice(2);
const classifier = await hyperclip.generate(classes.split(','));
const fromFiles = await classifier.classify(images, { topK: 3 });
const fromBuffer = await classifier.classify(readFileSync(images[0]), { topK: 3 });
await classifier.save('classifier.onnx');
const reloaded = await hyperclip.loadClassifier('classifier.onnx');
const again = await reloaded.classify(images[0], { topK: 3 });
let evaluateError = null;
try {
  await hyperclip.evaluate({ limit: 4 });
} catch (err) {
  evaluateError = err.message;
}
console.log(JSON.stringify({ classNames: classifier.classNames, fromFiles, fromBuffer, again, evaluateError, addonBuilt: hyperclip.addonBuilt() }));
`;

const USER_TYPESCRIPT = `
import { generate, loadClassifier, loadModel, type LabelScore, type NodeClassifier } from 'hyperclip';
import { loadModel as loadWebModel, type ImageClassifier, type WebRuntime } from 'hyperclip/web';

const classifier: NodeClassifier = await generate(['cat', 'dog'], { engine: 'onnx', output: 'softmax' });
const one: LabelScore[] = await classifier.classify('cat.jpg', { topK: 1 });
const many: LabelScore[][] = await classifier.classify(['cat.jpg', new Uint8Array(10)]);
const probability: number = one[0]!.probability + many.length;
await classifier.save('pets.onnx');
const reloaded: NodeClassifier = await loadClassifier('pets.onnx');
const names: string[] = reloaded.classNames.concat(loadModel().dir);
// @ts-expect-error topK is a number
await classifier.classify('cat.jpg', { topK: 'three' });
// @ts-expect-error the engine is auto, onnx or libtorch
await generate(['cat'], { engine: 'tensorflow' });
declare const runtime: WebRuntime;
const page: ImageClassifier = await (await loadWebModel('https://example.com/model/', runtime)).generate(['cat']);
export const used = [probability, names, page.inputSize];
`;

test('npm pack, install without libtorch, import from ESM and TypeScript, generate and classify real images', { timeout: 240_000 }, async (t) => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'hyperclip-pack-'));
  try {
    await ensureWebBuilt(ROOT); // the tarball ships the prebuilt page for `hyperclip serve`
    // --ignore-scripts: prepack would rebuild dist/ and the page, which npm test has just built.
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
    assert.equal(pack.status, 0, pack.stderr);
    const packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;
    const files = packed.files.map((f) => f.path);
    t.diagnostic(`${packed.filename}: ${(packed.size / 1e6).toFixed(1)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(1)} MB unpacked, ${files.length} files`);
    for (const needed of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/web.js', 'dist/src/web.d.ts', 'dist/src/cli/main.js',
      'models/default/generator.onnx', 'models/default/encoder.onnx', 'models/default/model.safetensors', 'models/default/tokenizer.json',
      'web/dist/index.html', 'native/binding.gyp', 'native/libtorch.cjs']) {
      assert.ok(files.includes(needed), `the package lacks ${needed}`);
    }
    const leftOut = /^(runs|docs|test|bench|experiments|tools|scripts|src|dist\/(test|bench|experiments|tools)|native\/build)\/|\.map$/;
    assert.deepEqual(files.filter((f) => leftOut.test(f)), [], 'the package holds files a user does not need');
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.deepEqual(['preinstall', 'install', 'postinstall'].filter((s) => s in manifest.scripts), [], 'installing must build nothing');
    assert.ok(!files.includes('binding.gyp'), 'a binding.gyp at the root would make npm build the addon on install');

    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'hyperclip-user', private: true, type: 'module' }));
    installInto(app, path.join(tmp, packed.filename));
    assert.equal(existsSync(path.join(app, 'node_modules/hyperclip/native/build')), false);

    const images = await cifarImages(2);
    const imageFiles = images.map(({ key, jpeg }) => {
      const file = path.join(app, `${key}.jpg`);
      writeFileSync(file, jpeg);
      return file;
    });

    // ES module: generate, classify files and a buffer, save, reload; evaluate needs the addon.
    writeFileSync(path.join(app, 'main.mjs'), USER_MODULE);
    const esm = run(process.execPath, ['main.mjs', CIFAR10.join(','), ...imageFiles], app);
    assert.equal(esm.status, 0, esm.stderr);
    const out = JSON.parse(esm.stdout) as {
      classNames: string[]; fromFiles: { label: string; probability: number }[][]; fromBuffer: unknown; again: unknown; evaluateError: string | null; addonBuilt: boolean;
    };
    assert.deepEqual(out.classNames, CIFAR10);
    assert.equal(out.addonBuilt, false);
    assert.equal(out.fromFiles.length, 2);
    for (const labels of out.fromFiles) {
      assert.equal(labels.length, 3);
      assert.ok(labels.every((l, i) => CIFAR10.includes(l.label) && (i === 0 || l.probability <= labels[i - 1]!.probability)));
    }
    assert.deepEqual(out.fromBuffer, out.fromFiles[0]);
    assert.deepEqual(out.again, out.fromFiles[0]);
    assert.match(out.evaluateError ?? '', /^training, evaluation and the libtorch engine need the libtorch addon, which is not built \(.*node_modules\/hyperclip\/native\/build\/Release\/hyperclip_torch\.node\): .*`npm run build:native`[^\n]*$/);
    // The installed package computes what the project computes.
    const here = await generate(CIFAR10);
    const expected = await here.classify(imageFiles, { topK: 3 });
    await here.release();
    out.fromFiles.forEach((labels, i) => labels.forEach((l, j) => {
      assert.equal(l.label, expected[i]![j]!.label);
      assert.ok(Math.abs(l.probability - expected[i]![j]!.probability) < 1e-5);
    }));
    t.diagnostic(`${path.basename(imageFiles[0]!)}: ${out.fromFiles[0]!.map((l) => `${l.label} ${(100 * l.probability).toFixed(1)}%`).join(', ')}`);

    // TypeScript: the package's types as a user's compiler sees them, through the exports map.
    writeFileSync(path.join(app, 'check.ts'), USER_TYPESCRIPT);
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: ['check.ts'],
    }));
    const tsc = run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);

    // The CLI from the package: classify works, eval says in one line how to get the addon.
    const cli = path.join(app, 'node_modules/hyperclip/dist/src/cli/main.js');
    const classified = run(process.execPath, [cli, 'classify', 'classifier.onnx', ...imageFiles, '--top-k', '1'], app);
    assert.equal(classified.status, 0, classified.stderr);
    assert.match(classified.stdout, /classified 2 image\(s\) in [\d.]+ s with classifier\.onnx \(10 classes\)\n$/);
    const evaluated = run(process.execPath, [cli, 'eval', '--limit', '4'], app);
    assert.equal(evaluated.status, 1);
    assert.match(evaluated.stderr, /^hyperclip: training, evaluation and the libtorch engine need the libtorch addon[^\n]*`npm run build:native`[^\n]*\n$/);

    await checkServe(cli, app);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** `hyperclip serve` from the package: the prebuilt page and the default model's files, no libtorch, no build. */
async function checkServe(cli: string, cwd: string): Promise<void> {
  const server = spawn(process.execPath, [cli, 'serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      server.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout);
        if (found) resolve(found[0]);
      });
      server.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const generator = await fetch(new URL('model/generator.onnx', url));
    assert.equal(generator.status, 200);
    assert.equal((await generator.arrayBuffer()).byteLength, Number(generator.headers.get('content-length')));
  } finally {
    server.kill();
  }
}
