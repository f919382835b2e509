// hyperclip generate and classify as a user runs them: a model folder and
// class names in, a classifier file out, real images classified, bad input
// explained in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { saveBundle } from '../../src/bundle/bundle.js';
import { cifarImages } from './real-images.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function hyperclipWith(env: Record<string, string>, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1', ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const hyperclip = (...args: string[]) => hyperclipWith({}, ...args);

test('hyperclip generate then classify on real images; bad input gets one clear line', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-cli-'));
  try {
    manualSeed(16);
    const tokenizer = Tokenizer.load('flickr8k-4k');
    const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
    saveBundle(path.join(dir, 'model'), new HyperClip(config), tokenizer);
    const images = path.join(dir, 'images');
    mkdirSync(images);
    for (const image of await cifarImages(3)) writeFileSync(path.join(images, `${image.key}.jpg`), image.jpeg);
    writeFileSync(path.join(images, 'notes.txt'), 'not an image');
    writeFileSync(path.join(dir, 'broken.jpg'), 'not an image either');

    const classifier = path.join(dir, 'pets.onnx');
    const generate = hyperclip('generate', '--model', path.join(dir, 'model'), '--classes', 'cat, dog ,airplane', '-o', classifier);
    assert.equal(generate.status, 0, generate.stderr);
    assert.match(generate.stdout, /pets\.onnx: 3 classes, \d+ KB, generated in [\d.]+ s, exported in [\d.]+ s/);

    const run = hyperclip('classify', classifier, images, '--top-k', '2');
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 4, run.stdout);
    for (const line of lines.slice(0, 3)) assert.match(line, /test_\w+\.jpg: (cat|dog|airplane) [\d.]+%, (cat|dog|airplane) [\d.]+%$/);
    assert.match(lines[3]!, /^classified 3 image\(s\) in [\d.]+ s with pets\.onnx \(3 classes\)$/);
    t.diagnostic(lines[0]!);

    const json = hyperclip('classify', classifier, images, '--json', '--top-k', '1');
    const parsed = JSON.parse(json.stdout) as { file: string; topk: { label: string }[] }[]; // stdout is the JSON alone
    assert.match(json.stderr, /classified 3 image\(s\) in [\d.]+ s with pets\.onnx \(3 classes\)\n$/);
    assert.equal(parsed.length, 3);
    assert.ok(parsed.every((p) => p.topk.length === 1 && ['cat', 'dog', 'airplane'].includes(p.topk[0]!.label)));

    // The shipped-ONNX path: export once with libtorch, then generate and classify with the libtorch addon unreachable.
    const exported = hyperclip('export-onnx', '--model', path.join(dir, 'model'));
    assert.equal(exported.status, 0, exported.stderr);
    const noTorch = { HYPERCLIP_ADDON: path.join(dir, 'no-libtorch-here.node') };
    const onnxOnly = hyperclipWith(noTorch, 'generate', '--model', path.join(dir, 'model'), '--classes', 'cat,dog,airplane', '-o', path.join(dir, 'rt.onnx'));
    assert.equal(onnxOnly.status, 0, onnxOnly.stderr);
    assert.match(onnxOnly.stderr, /\(onnx\)/);
    assert.match(onnxOnly.stdout, /rt\.onnx: 3 classes, \d+ KB, generated in [\d.]+ s, built in [\d.]+ s/);
    const classifiedNoTorch = hyperclipWith(noTorch, 'classify', path.join(dir, 'rt.onnx'), images);
    assert.equal(classifiedNoTorch.status, 0, classifiedNoTorch.stderr);
    assert.match(classifiedNoTorch.stdout, /classified 3 image\(s\)/);
    const torchNeeded = hyperclipWith(noTorch, 'generate', '--engine', 'libtorch', '--model', path.join(dir, 'model'), '--classes', 'cat', '-o', path.join(dir, 'x.onnx'));
    assert.equal(torchNeeded.status, 1);
    assert.match(torchNeeded.stderr, /^hyperclip: training, evaluation and the libtorch engine need the libtorch addon, which is not built \(.*\): .*`npm run build:native`[^\n]*\n$/m);

    const cases: [string[], string][] = [
      [['classify', classifier, path.join(dir, 'broken.jpg')], `${path.join(dir, 'broken.jpg')} is not an image that sharp can read`],
      [['classify', path.join(dir, 'missing.onnx'), images], `classifier file not found: ${path.join(dir, 'missing.onnx')}`],
      [['classify', classifier, path.join(dir, 'nowhere')], `no such file or folder: ${path.join(dir, 'nowhere')}`],
      [['generate', '--model', path.join(dir, 'model'), '--classes', ',', '-o', classifier], '--classes is empty: give class names separated by commas'],
      [['generate', '--model', path.join(dir, 'model'), '--classes', 'cat,Cat', '-o', classifier], 'classes: class "Cat" appears twice'],
      [['generate', '--model', path.join(dir, 'nomodel'), '--classes', 'cat', '-o', classifier], 'no model folder at'],
      [['generate', '--engine', 'onnx', '--model', dir, '--classes', 'cat', '-o', classifier], `${dir} has no generator.onnx and encoder.onnx`],
      [['generate', '--model', path.join(dir, 'model'), '--classes', 'cat', '--probabilities', 'odds', '-o', classifier], '--probabilities must be one of softmax, sigmoid, logits, got "odds"'],
    ];
    for (const [args, message] of cases) {
      const failed = hyperclip(...args);
      assert.equal(failed.status, 1, `${args.join(' ')} should fail`);
      assert.ok(failed.stderr.includes(`hyperclip: ${message}`), `${args.join(' ')}: stderr was ${failed.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
