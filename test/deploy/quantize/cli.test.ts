// hyperclip generate --int8 --calib as a user runs it: a quantized file that
// classify reads, and one clear line for options that could not take effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../../../src/engine/index.js';
import { Tokenizer } from '../../../src/data/tokenizer/index.js';
import { HyperClip } from '../../../src/models/index.js';
import { saveBundle } from '../../../src/bundle/bundle.js';
import { readOnnxInfo } from '../../../src/deploy/onnx/read.js';
import { QUANTIZATION_METADATA_KEY, type QuantizationRecord } from '../../../src/deploy/quantize/quantize.js';
import { cifarImages } from '../real-images.js';
import { tinyConfig } from './tiny-model.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('generate --int8 --calib writes a quantized classifier that classify reads; impossible options are one line', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-int8-cli-'));
  try {
    manualSeed(31);
    const tokenizer = Tokenizer.load('flickr8k-4k');
    const model = path.join(dir, 'model');
    saveBundle(model, new HyperClip(tinyConfig(tokenizer)), tokenizer); // untrained: the CLI test checks files and messages, not predictions
    const photos = path.join(dir, 'photos');
    mkdirSync(photos);
    for (const image of await cifarImages(6)) writeFileSync(path.join(photos, `${image.key}.jpg`), image.jpeg);
    writeFileSync(path.join(photos, 'broken.jpg'), 'not an image');
    const base = ['generate', '--model', model, '--classes', 'cat,dog,airplane'];

    const float = path.join(dir, 'pets.onnx');
    assert.equal(hyperclip(...base, '-o', float).status, 0);
    const int8 = path.join(dir, 'pets-int8.onnx');
    const run = hyperclip(...base, '--int8', '--calib', photos, '-o', int8);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /pets-int8\.onnx: 3 classes, int8, \d+ KB \(float32 \d+ KB\), generated in [\d.]+ s, exported in [\d.]+ s, calibrated on 6 images of .*photos, skipped 1: corrupt_image 1 \(e\.g\. .*broken\.jpg.*\) in [\d.]+ s\n$/);
    assert.match(run.stderr, /calibrating activation ranges 6\/6/);
    t.diagnostic(run.stdout.trim());
    assert.ok(statSync(int8).size < 0.35 * statSync(float).size, `int8 ${statSync(int8).size} bytes vs float32 ${statSync(float).size}`);

    const recorded = (file: string) => JSON.parse(readOnnxInfo(readFileSync(file)).metadata[QUANTIZATION_METADATA_KEY]!) as QuantizationRecord;
    const defaults = recorded(int8);
    assert.equal(defaults.floatLayers, 'stem');
    assert.equal(defaults.floatNodes, 1, 'the stem convolution stays float');
    assert.ok(defaults.biasCorrected > 0, 'biases are corrected by default');
    const plain = path.join(dir, 'pets-int8-plain.onnx');
    const plainRun = hyperclip(...base, '--int8', '--calib', photos, '--bias-correction', 'off', '--float-layers', 'none', '-o', plain);
    assert.equal(plainRun.status, 0, plainRun.stderr);
    const plainRecord = recorded(plain);
    assert.deepEqual([plainRecord.floatLayers, plainRecord.floatNodes, plainRecord.biasCorrected], ['none', 0, 0]);
    assert.equal(plainRecord.quantizedNodes, defaults.quantizedNodes + 1);

    const classified = hyperclip('classify', int8, photos, '--top-k', '1');
    assert.equal(classified.status, 0, classified.stderr);
    assert.match(classified.stdout, /classified 6 image\(s\) in [\d.]+ s with pets-int8\.onnx \(3 classes\)/);

    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const unreadable = path.join(dir, 'unreadable');
    mkdirSync(unreadable);
    writeFileSync(path.join(unreadable, 'a.jpg'), 'not an image');
    writeFileSync(path.join(unreadable, 'b.png'), 'nor this');
    const out = path.join(dir, 'never.onnx');
    const cases: [string[], string | RegExp][] = [
      [[...base, '--calib', photos, '-o', out], '--calib only takes effect with --int8: add --int8 to write an 8-bit classifier, or leave --calib out'],
      [[...base, '--calib-n', '8', '-o', out], '--calib-n only takes effect with --int8 --calib IMAGES: add them, or leave --calib-n out'],
      [[...base, '--bias-correction', 'off', '-o', out], '--bias-correction only takes effect with --int8 --calib IMAGES: add them, or leave --bias-correction out'],
      [[...base, '--float-layers', 'none', '-o', out], '--float-layers only takes effect with --int8 --calib IMAGES: add them, or leave --float-layers out'],
      [[...base, '--int8', '--calib', photos, '--bias-correction', 'yes', '-o', out], '--bias-correction must be on or off, got "yes"'],
      [[...base, '--int8', '--calib', photos, '--float-layers', 'head', '-o', out], '--float-layers must be stem or none, got "head"'],
      [[...base, '--int8', '-o', out], '--int8 needs calibration images: add --calib FOLDER, a folder of your own unlabelled images (a few hundred are enough)'],
      [[...base, '--int8', '--calib', path.join(dir, 'nowhere'), '-o', out], /^dataset not found: .*nowhere is no named dataset/],
      [[...base, '--int8', '--calib', empty, '-o', out], /^.*empty holds no images, class folders or shards/],
      [[...base, '--int8', '--calib', unreadable, '-o', out], /^no readable image in .*unreadable \(skipped 2: corrupt_image 2 .*\): calibration needs images the classifier can decode/],
      [[...base, '--int8', '--calib', photos, '--calib-n', '0', '-o', out], /expected an integer >= 1 for --calib-n but received "0"/],
    ];
    for (const [args, message] of cases) {
      const failed = hyperclip(...args);
      assert.equal(failed.status, 1, `${args.join(' ')} should fail`);
      const errors = failed.stderr.split('\n').filter((line) => line.startsWith('hyperclip: ') || /^error: /.test(line));
      assert.equal(errors.length, 1, `one error line: ${failed.stderr}`);
      const text = errors[0]!.replace(/^hyperclip: |^error: /, '');
      if (typeof message === 'string') assert.equal(text, message);
      else assert.match(text, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
