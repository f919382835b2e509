// The pruning experiment's pretrained mode on the smallest real network
// (MobileNet v1 0.25, 128 px) and a 20-image slice of imagenet-sample: it
// records the dense and pruned points with their host and command, pruning
// to 80% without retraining wrecks the ImageNet head's top-1, a rerun resumes
// instead of measuring again, and calibrating on the evaluated images is
// refused. The report's comparison is checked on made-up records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataRoot } from '../../src/data/index.js';
import { packHits, unpackHits } from '../../experiments/pruning/hits.js';
import { compare } from '../../experiments/pruning/pretrained-report.js';
import type { HostRecord, ImagenetRecord, ResultRecord } from '../../experiments/pruning/records.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../experiments/pruning.js');
const FILE = path.join(dataRoot(), 'pretrained', 'mobilenet_v1_0.25_128_quant.tflite');
// Missing data skips locally but fails on CI, where the files must be present.
const skip = existsSync(FILE) || process.env.CI === 'true' ? false : `${FILE} is missing (the pretrained TFLite files live in ../shared/data/pretrained)`;

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-pruning-pretrained-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const experiment = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
const records = (out: string): ResultRecord[] => readFileSync(path.join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ResultRecord);

test('pretrained mode: dense and pruned points recorded with host and command; 80% sparsity without retraining lowers the top-1', { skip }, () => {
  const out = path.join(root, 'run');
  const report = path.join(out, 'pruning.md');
  const args = ['--pretrained', FILE, '--limit', '20', '--levels', '0.8', '--draws', '1', '--calib-n', '16', '--out', out, '--report', report];
  const run = experiment(...args);
  assert.equal(run.status, 0, run.stderr);
  const written = records(out);
  const host = written.filter((r): r is HostRecord => r.kind === 'host');
  assert.equal(host.length, 1);
  assert.match(host[0]!.command, /--pretrained .*mobilenet_v1_0\.25_128_quant\.tflite --limit 20/);
  assert.ok(host[0]!.cpus > 0 && host[0]!.node.startsWith('v'));
  const points = written.filter((r): r is ImagenetRecord => r.kind === 'imagenet');
  assert.deepEqual(points.map((r) => `${r.method} ${r.level}`), ['dense 0', 'wanda 0.8', 'magnitude 0.8']);
  const [dense, wanda, magnitude] = points as [ImagenetRecord, ImagenetRecord, ImagenetRecord];
  for (const r of points) {
    assert.equal(r.modelCrc, host[0]!.modelCrc);
    assert.equal(r.samples, 20);
    assert.equal(r.source, 'mobilenet_v1_0.25_128_quant.tflite');
    assert.equal(r.calibData, 'tiny-imagenet:train');
    assert.equal(unpackHits(r.hits, 20).reduce((a, b) => a + b, 0), Math.round(20 * r.top1), `${r.method}: hits and top-1 disagree`);
  }
  assert.ok(dense.top1 >= 0.25, `dense top-1 ${dense.top1} on 20 images: the imported head should score near its 43% here`);
  assert.equal(dense.overall, 0);
  for (const pruned of [wanda, magnitude]) {
    assert.ok(pruned.overall > 0.75 && pruned.overall <= 0.8, `${pruned.method}: ${pruned.overall} of the pruned layers' weights are zero`);
    assert.ok(pruned.top1 < dense.top1, `${pruned.method} at 80% kept the dense top-1 (${pruned.top1} vs ${dense.top1}): were the weights pruned?`);
  }
  const text = readFileSync(report, 'utf8');
  assert.match(text, /## The pretrained image encoder alone/);
  assert.match(text, /Dense \(unpruned\): top-1 \*\*\d+\.\d%\*\*/);
  assert.match(text, /\n\| 0\.8 \| 79\.\d% \|/);

  const again = experiment(...args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /3 points, 3 already recorded, 0 to run/);
  assert.equal(records(out).length, written.length, 'a rerun of a finished command records nothing new');
});

test('pretrained mode: calibrating on the evaluated images, or --calib-data without --pretrained, is one line', () => {
  const out = path.join(root, 'bad');
  for (const [args, message] of [
    [['--pretrained', FILE, '--calib-data', 'imagenet-sample'], /--calib-data imagenet-sample reads imagenet-sample, the evaluated images/],
    [['--calib-data', 'cifar10:train'], /--calib-data applies to --pretrained/],
  ] as const) {
    const run = experiment(...args, '--out', out, '--report', path.join(out, 'pruning.md'));
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, message);
  }
});

test('report: wanda − magnitude paired over draws and images; a gap the images cannot carry is within noise', () => {
  const n = 200;
  const point = (method: ImagenetRecord['method'], draw: number, right: (i: number) => boolean): ImagenetRecord => {
    const hits = Array.from({ length: n }, (_, i) => right(i));
    return {
      kind: 'imagenet', modelCrc: 1, source: 'x.tflite', limit: n, calibData: 'cifar10:train', calibN: 16, method, level: '0.5', draw,
      top1: hits.filter(Boolean).length / n, top5: 0, samples: n, hits: packHits(hits), overall: 0.5, seconds: 1,
    };
  };
  assert.deepEqual([...unpackHits(packHits([true, false, false, true, true, false, false, false, true]), 9)], [1, 0, 0, 1, 1, 0, 0, 0, 1]);
  // Magnitude gets the first 60 images right; wanda the first 100 in every draw, plus one more in draw 1: +20 points.
  const magnitude = point('magnitude', 0, (i) => i < 60);
  const ahead = compare([magnitude, point('wanda', 0, (i) => i < 100), point('wanda', 1, (i) => i < 101), point('wanda', 2, (i) => i < 100)], '0.5')!;
  assert.ok(Math.abs(ahead.difference.mean - (40 + 41 + 40) / 3 / n) < 1e-12);
  assert.equal(ahead.difference.wins, 3);
  assert.equal(ahead.verdict, 'beyond noise');
  // One or two images more: steady over the draws (so beyond noise on their spread alone), but two images of 200 say nothing.
  const close = compare([magnitude, point('wanda', 0, (i) => i < 61), point('wanda', 1, (i) => i < 61), point('wanda', 2, (i) => i < 62)], '0.5')!;
  assert.equal(close.drawVerdict, 'beyond noise');
  assert.ok(close.imageError > close.drawError, `image error ${close.imageError}, draw error ${close.drawError}`);
  assert.equal(close.verdict, 'within noise');
  assert.equal(compare([magnitude], '0.5'), null, 'no wanda draw: nothing to compare');
});
