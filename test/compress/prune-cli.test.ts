// hyperclip prune as a user runs it, on a tiny model and real data: a pruned
// model folder that is smaller, says what was done, loads, generates a
// classifier and classifies; a generated classifier pruned with images of
// its task; corrupt sparse payloads and bad options as one clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { loadBundle, saveBundle } from '../../src/bundle/bundle.js';
import { loadClassifier } from '../../src/deploy/runtime/node.js';
import { decodeModel } from '../../src/deploy/onnx/sparse-initializers.js';
import { cifarImages } from '../deploy/real-images.js';
import { photoFolder } from '../data/own-data-fixtures.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function tinyFolders(dir: string): { model: string; baseline: string } {
  manualSeed(21);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const text = { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength };
  const model = path.join(dir, 'model'), baseline = path.join(dir, 'baseline');
  saveBundle(model, new HyperClip(resolveConfig({ preset: 'test-tiny', text })), tokenizer);
  saveBundle(baseline, new HyperClip(resolveConfig({ preset: 'test-tiny', text, hypernet: null })), tokenizer);
  return { model, baseline };
}

/** Flips one byte in the middle of the named safetensors tensor's data. */
function corruptTensor(file: string, suffix: string): void {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const name = Object.keys(header).find((k) => k.endsWith(suffix))!;
  const [begin, end] = header[name]!.data_offsets;
  const at = 8 + headerLength + Math.floor((begin + end) / 2);
  bytes[at] = bytes[at]! ^ 0x5a;
  writeFileSync(file, bytes);
}

test('a pruned model folder is smaller, records what was done, loads, generates a classifier and classifies', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-prune-'));
  try {
    const { model } = tinyFolders(dir);
    const out = path.join(dir, 'pruned');
    const run = hyperclip('prune', '--model', model, '--sparsity', '0.5', '--calib', 'flickr8k:train', '--calib-n', '16', '--seed', '2', '-o', out);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout.trim(), /pruned: wanda 0\.5 on text, image, hypernet, 50\.0% of \d+ layers' weights zero, calibrated on 16 samples of flickr8k:train, seed 2$/);
    assert.ok(statSync(path.join(out, 'model.safetensors')).size < 0.85 * statSync(path.join(model, 'model.safetensors')).size, 'the weights file shrinks');

    const bundle = loadBundle(out);
    const record = bundle.extra.pruning as { method: string; sparsity: string; calibration: string; layers: { name: string; sparsity: number }[] };
    assert.equal(record.method, 'wanda');
    assert.equal(record.sparsity, '0.5');
    assert.match(record.calibration, /16 samples of flickr8k:train, seed 2/);
    const fc1 = record.layers.find((l) => l.name.endsWith('blocks.0.fc1'))!;
    assert.equal(fc1.sparsity, 0.5);
    const weights = bundle.model.stateDict().get(`${fc1.name}.weight`)!;
    const [rows, cols] = weights.shape as [number, number];
    const values = weights.toArray();
    for (let r = 0; r < rows; r++) assert.equal(values.slice(r * cols, (r + 1) * cols).filter((v) => v === 0).length, cols / 2, `row ${r} is half zero`);
    bundle.model.dispose();
    assert.match(readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8'), /## Pruned \(hyperclip prune\)/);

    const classifier = path.join(dir, 'pets.onnx');
    const generate = hyperclip('generate', '--model', out, '--classes', 'cat,dog,airplane', '-o', classifier);
    assert.equal(generate.status, 0, generate.stderr);
    const images = path.join(dir, 'images');
    mkdirSync(images);
    for (const image of await cifarImages(3)) writeFileSync(path.join(images, `${image.key}.jpg`), image.jpeg);
    const classify = hyperclip('classify', classifier, images, '--top-k', '1');
    assert.equal(classify.status, 0, classify.stderr);
    assert.match(classify.stdout.trim().split('\n').at(-1)!, /^classified 3 image\(s\)/);

    corruptTensor(path.join(out, 'model.safetensors'), '.sparse_values');
    const broken = hyperclip('eval', '--model', out, '--dataset', 'cifar10', '--limit', '8');
    assert.notEqual(broken.status, 0);
    assert.match(broken.stderr, /the sparse weights of \S+ are corrupt \(CRC-32 mismatch\)/);
    assert.equal(broken.stderr.trim().split('\n').length, 1, broken.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a generated classifier pruned with unlabelled images of its task: smaller, still classifies, checked at load', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-prune-onnx-'));
  try {
    const { model } = tinyFolders(dir);
    const dense = path.join(dir, 'c.onnx'), pruned = path.join(dir, 'c-24.onnx');
    assert.equal(hyperclip('generate', '--model', model, '--classes', 'cat,dog,airplane,ship', '-o', dense).status, 0);
    const images = path.join(dir, 'images');
    mkdirSync(images);
    for (const image of await cifarImages(8)) writeFileSync(path.join(images, `${image.key}.jpg`), image.jpeg);
    const run = hyperclip('prune', '--model', dense, '--nm', '2:4', '--calib', images, '--calib-n', '8', '-o', pruned);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /c-24\.onnx: wanda 2:4, \d+\.\d% of \d+ layers' weights zero, \d+ KB -> \d+ KB/);
    assert.ok(statSync(pruned).size < statSync(dense).size);
    const props = Object.fromEntries(decodeModel(readFileSync(pruned)).metadataProps!.map((p) => [p.key, p.value]));
    const record = JSON.parse(props['hyperclip.pruning']!) as { method: string; sparsity: string; calibration: string; layers: { sparsity: number; skipped?: string }[] };
    assert.equal(record.sparsity, '2:4');
    assert.match(record.calibration, /8 images of .*images, seed 0/);
    assert.ok(record.layers.some((l) => l.sparsity === 0.5) && record.layers.some((l) => l.skipped !== undefined), 'pruned layers at 2:4, the 3-channel stem dense');
    const classify = hyperclip('classify', pruned, images, '--top-k', '1');
    assert.equal(classify.status, 0, classify.stderr);

    // Class folders with a corrupt image, a non-image file and a stray image calibrate too: what cannot be used is counted and recorded.
    const photos = path.join(dir, 'photos');
    await photoFolder(photos, 3);
    const fromFolder = hyperclip('prune', '--model', dense, '--sparsity', '0.5', '--calib', photos, '--calib-n', '8', '-o', path.join(dir, 'c-folder.onnx'));
    assert.equal(fromFolder.status, 0, fromFolder.stderr);
    const folderProps = Object.fromEntries(decodeModel(readFileSync(path.join(dir, 'c-folder.onnx'))).metadataProps!.map((p) => [p.key, p.value]));
    const folderRecord = JSON.parse(folderProps['hyperclip.pruning']!) as { calibration: string };
    assert.match(folderRecord.calibration, /^8 images of \S+photos, seed 0 \(skipped \d+: .*not_an_image 1 .*\)$/);

    const bytes = readFileSync(pruned);
    const m = decodeModel(bytes);
    const maskInit = m.graph!.initializer!.find((t) => t.name!.endsWith('.sparse_mask'))!;
    maskInit.rawData![0] = maskInit.rawData![0]! ^ 0x01;
    const { encodeModel } = await import('../../src/deploy/onnx/sparse-initializers.js');
    await assert.rejects(loadClassifier(encodeModel(m)), /the sparse weights of \S+ are corrupt \(the mask keeps \d+ weights, \d+ expected\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hyperclip prune: bad input is one line on stderr and a non-zero exit', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-prune-bad-'));
  try {
    const { model, baseline } = tinyFolders(dir);
    const out = path.join(dir, 'out');
    const base = ['prune', '--model', model, '-o', out];
    const cases: [string[], RegExp][] = [
      [[...base, '--sparsity', '1', '--method', 'magnitude'], /sparsity must be in \[0, 1\)/],
      [[...base, '--nm', '4:4', '--method', 'magnitude'], /N must be below M/],
      [[...base, '--sparsity', '0.5', '--calib', 'flickr8k:train', '--calib-n', '4'], /too few calibration samples: --calib-n is 4, at least 8/],
      [['prune', '--model', baseline, '-o', out, '--sparsity', '0.5', '--method', 'magnitude', '--parts', 'text,hypernet'], /has no hypernetwork: choose --parts from text, image/],
      [[...base, '--sparsity', '0.5', '--method', 'magnitude', '--parts', 'vision'], /unknown part "vision"/],
      [[...base, '--sparsity', '0.5', '--method', 'sparsegpt'], /unknown pruning method "sparsegpt": expected wanda or magnitude/],
      [[...base, '--sparsity', '0.5'], /wanda measures activations: give --calib/],
      [[...base, '--sparsity', '0.5', '--nm', '2:4', '--method', 'magnitude'], /exactly one of --sparsity RATIO or --nm N:M/],
      [['prune', '--model', model, '-o', model, '--sparsity', '0.5', '--method', 'magnitude'], /is the input: write the pruned model to a new path/],
    ];
    for (const [args, message] of cases) {
      const run = hyperclip(...args);
      assert.notEqual(run.status, 0, `${args.join(' ')} should fail`);
      assert.match(run.stderr, message, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${run.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
