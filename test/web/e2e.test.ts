// The browser app end to end in Debian's Chromium: hyperclip serve builds
// and serves the page with a tiny model; the test types class names,
// generates a classifier in the page, uploads real test images (CIFAR-10,
// and a Flickr8k photo that the preprocessing resizes and crops) and checks
// the page's predictions against `hyperclip classify` on the classifier the
// page downloads (same top-5 labels and probabilities), and against a
// classifier generated in Node by libtorch from the same model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { BatchNorm2d, manualSeed, noGrad, rand, randn } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { saveBundle } from '../../src/bundle/bundle.js';
import { dataRoot } from '../../src/data/datasets.js';
import { readShard } from '../../src/data/webdataset/reader.js';
import { dependencyPresent, skipWithout } from '../ci/system-dependency.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** Where the screenshots stay after the test (the rest of its files are removed). */
const SCREENSHOTS = path.join(tmpdir(), 'hyperclip-web-e2e');

interface TopK { label: string; probability: number }

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * A tiny untrained model that tells images apart: at initialisation its
 * batch-norm statistics shrink activations to ~1e-11 and every image gets
 * the same scores, so one train-mode pass (momentum 1) sets them from a
 * batch; the hypernetwork head is made non-zero so the classes condition the
 * encoder. Without this, a preprocessing mistake in the page could not show.
 */
function saveTinyModel(dir: string): void {
  manualSeed(21);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = new HyperClip(config);
  noGrad(() => model.hypernet!.head.weight.copy_(rand(model.hypernet!.head.weight.shape).sub(0.5).mul(0.2)));
  for (const [, m] of model.imageEncoder.namedModules()) if (m instanceof BatchNorm2d) Object.assign(m, { momentum: 1 });
  model.train();
  noGrad(() => model.encodeImage(randn([64, 3, config.image.imageSize, config.image.imageSize])).dispose());
  model.eval();
  saveBundle(dir, model, tokenizer);
  model.dispose();
}

/** The first JPEG of a dataset's test shard, written to dir. */
async function extractTestImage(dataset: string, dir: string): Promise<string> {
  for await (const sample of readShard(path.join(dataRoot(), dataset, 'test-000000.tar.gz'))) {
    const jpeg = sample.members.get('jpg');
    if (jpeg === undefined) continue;
    const file = path.join(dir, `${dataset}-${sample.key}.jpg`);
    writeFileSync(file, jpeg);
    return file;
  }
  throw new Error(`no JPEG in the ${dataset} test shard`);
}

/**
 * The images: a CIFAR-10 test JPEG at the model's 32x32 input; a 128x128
 * Flickr8k test photo, which the preprocessing resizes; and that photo
 * squashed to 96x64 as a PNG, which it also center-crops.
 */
async function testImages(dir: string): Promise<string[]> {
  const cifar = await extractTestImage('cifar10', dir);
  const photo = await extractTestImage('flickr8k', dir);
  const wide = path.join(dir, 'flickr8k-wide.png');
  await sharp(photo).resize(96, 64, { fit: 'fill' }).png().toFile(wide);
  return [cifar, photo, wide];
}

/** Starts `hyperclip serve` on a free port; resolves with its URL once it listens. */
function startServer(modelDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--model', modelDir, '--rebuild'], { env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hyperclip serve did not start in 90 s:\n${output}`)), 90_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving the hyperclip web app at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, child });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`hyperclip serve exited with ${code}:\n${output}`)));
  });
}

async function pageState(page: Page, states: string[], timeout = 60_000): Promise<string> {
  await page.waitForFunction((wanted) => wanted.includes(document.getElementById('status')!.dataset.state ?? ''), states, { timeout });
  return page.$eval('#status', (el) => (el as HTMLElement).dataset.state!);
}

const errorText = (page: Page): Promise<string> => page.$eval('#error', (el) => ((el as HTMLElement).hidden ? '' : el.textContent ?? ''));

async function checkClassListErrors(page: Page): Promise<void> {
  await page.fill('#classes', '  ');
  await page.click('#generate');
  assert.match(await errorText(page), /^No classes: type at least one class name/);
  await page.fill('#classes', 'cat\ndog\nCat');
  await page.click('#generate');
  assert.match(await errorText(page), /class "Cat" appears twice/);
}

/** Top-5 per image, by file name, from `hyperclip classify --json`. */
function cliTopK(classifier: string, images: string[]): Map<string, TopK[]> {
  const run = hyperclip('classify', classifier, ...images, '--json', '--top-k', '5');
  assert.equal(run.status, 0, run.stderr);
  return new Map((JSON.parse(run.stdout) as { file: string; topk: TopK[] }[]).map((r) => [path.basename(r.file), r.topk]));
}

/** Top-5 per image, by file name, from the page's result cards. */
function pageTopK(page: Page): Promise<Map<string, TopK[]>> {
  return page.$$eval('.result[data-label]', (cards) => cards.map((card) => [
    card.querySelector('h3')!.textContent!,
    Array.from(card.querySelectorAll<HTMLElement>('.bars li')).map((r) => ({ label: r.dataset.label!, probability: Number(r.dataset.probability) })),
  ] as [string, { label: string; probability: number }[]])).then((entries) => new Map(entries));
}

function assertSameTopK(actual: Map<string, TopK[]>, expected: Map<string, TopK[]>, tolerance: number, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: images`);
  for (const [file, topk] of actual) {
    const reference = expected.get(file)!;
    assert.deepEqual(topk.map((s) => s.label), reference.map((s) => s.label), `${what}, ${file}: labels`);
    const diff = Math.max(...topk.map((s, i) => Math.abs(s.probability - reference[i]!.probability)));
    assert.ok(diff <= tolerance, `${what}, ${file}: probabilities differ by ${diff} (allowed ${tolerance})`);
  }
}

const CHROMIUM_MISSING = `${CHROMIUM} is missing: install it (apt-get install -y chromium, or scripts/setup.sh) to run the browser test`;

test('browser app in Chromium: class names typed, classifier generated in the page, a real image classified as the CLI does',
  { skip: skipWithout(existsSync(CHROMIUM), CHROMIUM_MISSING), timeout: 180_000 },
  async (t) => {
    dependencyPresent(existsSync(CHROMIUM), CHROMIUM_MISSING);
    const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-web-'));
    let server: ChildProcess | undefined;
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
    try {
      saveTinyModel(path.join(dir, 'model'));
      const images = await testImages(dir);
      const started = await startServer(path.join(dir, 'model'));
      server = started.child;
      context = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
        executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, acceptDownloads: true, viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      await page.goto(`${started.url}?model=./nowhere/`);
      assert.equal(await pageState(page, ['idle', 'error']), 'error');
      assert.match(await errorText(page), /^model file generator\.onnx is missing at http:\/\/127\.0\.0\.1:\d+\/nowhere\/ \(HTTP 404\)/);
      await page.goto(started.url);
      assert.equal(await pageState(page, ['idle', 'error']), 'idle', `the model did not load: ${await errorText(page)}`);
      t.diagnostic(`model: ${await page.textContent('#model-info')}`);

      await checkClassListErrors(page);
      await page.selectOption('#preset', 'cifar10');
      assert.equal(await page.inputValue('#classes'), CLASSES.join('\n'));
      await page.fill('#classes', '');
      await page.locator('#classes').pressSequentially(CLASSES.join(', '));
      await page.click('#generate');
      assert.equal(await pageState(page, ['ready', 'error']), 'ready', `generation failed: ${await errorText(page)}`);
      assert.equal(await errorText(page), '');
      assert.equal(await page.textContent('#stat-classes'), String(CLASSES.length));
      assert.match((await page.textContent('#stat-size'))!, /^\d+ KB$/);
      t.diagnostic(`generated in ${await page.textContent('#stat-time')} (${await page.textContent('#stat-time-detail')}), ${await page.textContent('#stat-size')}`);

      await page.setInputFiles('#pick', images);
      await page.waitForFunction((n) => document.querySelectorAll('.result[data-label]').length === n, images.length, { timeout: 30_000 });
      const inPage = await pageTopK(page);
      for (const line of await page.$$eval('.result-body', (els) => els.map((e) => `${e.querySelector('h3')!.textContent}: ${e.querySelector('p')!.textContent}`))) {
        t.diagnostic(`page: ${line}`);
      }

      const download = page.waitForEvent('download');
      await page.click('#download');
      const downloaded = path.join(dir, 'from-the-page.onnx');
      await (await download).saveAs(downloaded);
      assertSameTopK(inPage, cliTopK(downloaded, images), 1e-5, 'page vs hyperclip classify on the downloaded classifier');

      const fromNode = path.join(dir, 'from-libtorch.onnx');
      const generate = hyperclip('generate', '--engine', 'libtorch', '--model', path.join(dir, 'model'), '--classes', CLASSES.join(','), '-o', fromNode);
      assert.equal(generate.status, 0, generate.stderr);
      assertSameTopK(inPage, cliTopK(fromNode, images), 1e-4, 'page vs a classifier generated by libtorch in Node');

      await page.setInputFiles('#pick', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not an image') });
      await page.waitForSelector('.result[data-error]', { timeout: 30_000 });
      assert.match(await errorText(page), /^broken\.jpg could not be read as an image/);
      assert.deepEqual(pageErrors, [], 'uncaught errors in the page');

      mkdirSync(SCREENSHOTS, { recursive: true });
      for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
        await page.setViewportSize(viewport);
        const file = path.join(SCREENSHOTS, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        t.diagnostic(`screenshot: ${file}`);
      }
    } finally {
      await context?.close();
      server?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
