// The dataset resolver on small folders, CSVs and lists made here from real
// CIFAR-10 and Flickr8k images: what each shape yields through the loader,
// how bad input is counted, and the one-line errors for what cannot be read.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createLoader, type Batch, type LoaderSource } from '../../src/data/loader.js';
import { evalPreprocess } from '../../src/data/preprocess.js';
import { resolveData } from '../../src/data/resolve.js';
import { corruptJpeg, tempDir } from './fixtures.js';
import { FOLDER_CLASSES, photoFolder, quoted, realImages } from './own-data-fixtures.js';

async function readAll(source: LoaderSource, options: { shuffle?: boolean; seed?: number } = {}): Promise<{ batches: Batch[]; skipped: string }> {
  const loader = createLoader({ sources: [source], batchSize: 8, preprocess: evalPreprocess(32), workers: 0, shuffle: options.shuffle ?? false, epochs: 1, seed: options.seed });
  const batches: Batch[] = [];
  for await (const batch of loader) batches.push(batch);
  return { batches, skipped: loader.skips.summary() };
}

/** The message of a thrown error, checked to be one line. */
function oneLine(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    const message = (error as Error).message;
    assert.equal(message.split('\n').length, 1, message);
    return message;
  }
  assert.fail('expected an error');
}

test('an image folder: sorted non-ASCII class names (NFD folder read as NFC, _ as space), every good image with its folder\'s label, bad files counted', async () => {
  const dir = tempDir();
  try {
    const truth = await photoFolder(dir, 5);
    const data = resolveData(dir, { need: 'labels' });
    assert.equal(data.kind, 'image-folder');
    assert.deepEqual(data.classnames, FOLDER_CLASSES);
    assert.equal(data.source.files!.files.length, 21, '20 images and the corrupt .jpg are listed; notes.txt, .DS_Store and stray.jpg are not');
    const { batches, skipped } = await readAll(data.source);
    const seen = new Map<string, number>();
    for (const b of batches) b.keys.forEach((k, i) => seen.set(k, b.labels![i]!));
    assert.deepEqual([...seen].sort(), [...truth].sort(), 'every good image once, with its folder\'s class');
    assert.match(skipped, /^skipped 3: /);
    assert.match(skipped, /corrupt_image 1 \(e\.g\. dog_breed\/broken\.jpg: /);
    assert.match(skipped, /not_an_image 1 \(e\.g\. \S+notes\.txt\)/);
    assert.match(skipped, /outside_class_folder 1 \(e\.g\. \S+stray\.jpg\)/);
    // Captions come from the class names through "a photo of a {}." by default.
    assert.ok(batches[0]!.captions.every((c) => /^a photo of a (café|dog breed|Äpfel|猫)\.$/.test(c)), batches[0]!.captions.join('|'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('given class names set the label order and must name exactly the folders', async () => {
  const dir = tempDir();
  try {
    const truth = await photoFolder(dir, 2);
    const order = ['猫', 'Äpfel', 'dog_breed', 'café'];
    const data = resolveData(dir, { classnames: order });
    assert.deepEqual(data.classnames, ['猫', 'Äpfel', 'dog breed', 'café']);
    const { batches } = await readAll(data.source);
    for (const b of batches) {
      b.keys.forEach((k, i) => assert.equal(data.classnames![b.labels![i]!], FOLDER_CLASSES[truth.get(k)!], k));
    }
    const message = oneLine(() => resolveData(dir, { classnames: ['猫', 'Äpfel', 'café', 'cat'] }));
    assert.match(message, /do not match the class folders .*no folder for "cat"; folders not in the list: "dog breed"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing folder, an empty class folder and one holding no image are one line that says what to do', async () => {
  const dir = tempDir();
  try {
    await photoFolder(dir, 1);
    mkdirSync(path.join(dir, 'zebra'));
    assert.match(oneLine(() => resolveData(dir)), /^class folder \S+zebra holds no images: add its images \(\.jpg, .*\) or remove the folder$/);
    writeFileSync(path.join(dir, 'zebra', 'readme.md'), 'zebras later');
    assert.match(oneLine(() => resolveData(dir)), /^class folder \S+zebra holds no images \(only 1 other file\(s\), e\.g\. readme\.md\): add its images/);
    assert.match(oneLine(() => resolveData(path.join(dir, 'no-such-folder'))), /^dataset not found: \S+no-such-folder is no named dataset \(flickr8k, cifar10, .*\) and no existing folder/);
    assert.match(oneLine(() => resolveData('cifar11')), /^unknown dataset "cifar11": the named ones are flickr8k, cifar10/);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    assert.match(oneLine(() => resolveData(empty)), /holds no images, class folders or shards/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plain folder and a .txt list of images are unlabelled: fine for calibration, one line for what needs labels or captions', async () => {
  const dir = tempDir();
  try {
    const images = await realImages(6);
    const plain = path.join(dir, 'plain');
    mkdirSync(plain);
    for (const image of images) writeFileSync(path.join(plain, `${image.key}.jpg`), image.jpeg);
    writeFileSync(path.join(plain, 'broken.jpg'), await corruptJpeg());
    writeFileSync(path.join(plain, 'list.csv.bak'), 'x');
    const data = resolveData(plain, { need: 'images' });
    assert.equal(data.kind, 'images');
    const { batches, skipped } = await readAll(data.source);
    assert.equal(batches.reduce((n, b) => n + b.size, 0), 6);
    assert.equal(batches[0]!.labels, null);
    assert.match(skipped, /corrupt_image 1/);
    assert.match(skipped, /not_an_image 1/);
    assert.match(oneLine(() => resolveData(plain, { need: 'labels' })), /holds images but no class folders: put each class's images in a folder named after it/);
    assert.match(oneLine(() => resolveData(plain, { need: 'captions' })), /holds images only, without captions or classes: give a CSV\/TSV/);

    const list = path.join(dir, 'list.txt');
    writeFileSync(list, `# calibration images\r\nplain/${images[0]!.key}.jpg\r\n\r\nplain/${images[1]!.key}.jpg\r\nplain/gone.jpg\r\n`);
    const listed = resolveData(list, { need: 'images' });
    assert.deepEqual(listed.source.files!.files.map((f) => f.path), [path.join(plain, `${images[0]!.key}.jpg`), path.join(plain, `${images[1]!.key}.jpg`)]);
    assert.match(listed.source.files!.skipped.summary(), /missing_file 1 \(e\.g\. \S+list\.txt:5 plain\/gone\.jpg\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a CSV as OpenCLIP reads it: CRLF, a BOM, quoted captions with commas, quotes and a line break, paths relative to the file', async () => {
  const dir = tempDir();
  try {
    const images = await realImages(4, 'flickr8k', 'val');
    mkdirSync(path.join(dir, 'img'));
    for (const image of images) writeFileSync(path.join(dir, 'img', `${image.key}.jpg`), image.jpeg);
    const tricky = 'A dog, brown and "happy", runs';
    const rows = [
      'filepath,title,source',
      `img/${images[0]!.key}.jpg,${quoted(tricky)},flickr`,
      `img/${images[1]!.key}.jpg,${quoted('two\nlines')},flickr`,
      `img/${images[2]!.key}.jpg,${images[2]!.caption},flickr`,
      `img/${images[3]!.key}.jpg,,flickr`,
      'img/missing.jpg,a caption,flickr',
    ];
    const csv = path.join(dir, 'pairs.csv');
    writeFileSync(csv, `\uFEFF${rows.join('\r\n')}\r\n`);
    const data = resolveData(csv, { need: 'captions' });
    assert.equal(data.kind, 'csv');
    assert.deepEqual(data.source.files!.files.map((f) => f.caption), [tricky, 'two\nlines', images[2]!.caption]);
    const { batches, skipped } = await readAll(data.source);
    assert.deepEqual(batches[0]!.captions, [tricky, 'two\nlines', images[2]!.caption]);
    assert.match(skipped, /missing_caption 1 \(e\.g\. \S+pairs\.csv:6 img\//);
    assert.match(skipped, /missing_file 1 \(e\.g\. \S+pairs\.csv:7 img\/missing\.jpg\)/);

    assert.match(oneLine(() => resolveData(csv, { csv: { imageKey: 'image' } })),
      /pairs\.csv has no column "image" \(its columns: "filepath", "title", "source"\): name the column with --csv-img-key$/);
    assert.match(oneLine(() => resolveData(csv, { need: 'labels' })), /holds image-caption pairs, not class labels/);

    // A TSV: a tab by default; the same content read with a comma is one column, and the message says so.
    const tsv = path.join(dir, 'pairs.tsv');
    writeFileSync(tsv, `path\tcaption\nimg/${images[0]!.key}.jpg\t${tricky}\n`);
    assert.deepEqual(resolveData(tsv, { csv: { imageKey: 'path', captionKey: 'caption' } }).source.files!.files.map((f) => f.caption), [tricky]);
    assert.match(oneLine(() => resolveData(tsv, { csv: { imageKey: 'path', captionKey: 'caption', separator: ',' } })), /one column read with separator ",": set --csv-separator/);
    assert.equal(resolveData(tsv, { csv: { imageKey: 'path', captionKey: 'caption', separator: '\\t' } }).source.files!.files.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loose files resume exactly: a loader restarted from state() yields the batches of the uninterrupted run', async () => {
  const dir = tempDir();
  try {
    await photoFolder(dir, 6);
    const { source } = resolveData(dir);
    const options = { sources: [source], batchSize: 4, preprocess: evalPreprocess(32), workers: 0, seed: 3 };
    const whole = createLoader(options);
    const first: Batch[] = [];
    for (let i = 0; i < 5; i++) first.push((await whole.next())!);
    await whole.close();
    const part = createLoader(options);
    await part.next();
    await part.next();
    const state = part.state();
    await part.close();
    const resumed = createLoader({ ...options, state });
    const rest: Batch[] = [];
    for (let i = 0; i < 3; i++) rest.push((await resumed.next())!);
    await resumed.close();
    assert.deepEqual(rest.map((b) => b.keys), first.slice(2).map((b) => b.keys));
    assert.deepEqual(rest.map((b) => [...b.images.subarray(0, 50)]), first.slice(2).map((b) => [...b.images.subarray(0, 50)]));
    // Shuffled: the first epoch is not the sorted listing.
    assert.notDeepEqual(first[0]!.keys, source.files!.files.slice(0, 4).map((f) => f.key));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
