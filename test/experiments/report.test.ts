// The experiment's report generator on synthetic run folders: statistics,
// missing runs, the NOT-zero-shot mark, and that the plots render to PNG.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONFIGURATIONS } from '../../experiments/hyperclip-vs-siglip/plan.js';
import { cellStats } from '../../experiments/hyperclip-vs-siglip/report.js';
import { readRuns, type EvalRecord } from '../../experiments/hyperclip-vs-siglip/runs.js';
import { pairedDifference, spread } from '../../tools/stats.js';
import { accuracyBarSpec } from '../../experiments/hyperclip-vs-siglip/plots.js';
import { renderPng } from '../../tools/render-png.js';
import { writeReport } from '../../experiments/hyperclip-vs-siglip/write-report.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function evalRecord(recipe: string, seed: number, cifar10: number): EvalRecord {
  const r = { r1: 0.05, r5: 0.15, r10: 0.25 };
  return {
    recipe, seed, evalLimit: null, evaluatedAt: '2026-01-01T00:00:00Z', seconds: 1,
    cifar10: { samples: 10000, top1: cifar10, top5: 0.6, templates: 18 },
    cifar100: { samples: 10000, top1: cifar10 / 4, top5: 0.2, templates: 18 },
    flickr8k: { images: 1000, captions: 5000, imageToText: r, textToImage: r },
  };
}

/** A finished run folder: config, metrics log (train lines and the summary), model config, eval.json. */
function writeRun(root: string, recipe: string, seed: number, cifar10: number | null, finished = true): void {
  const dir = path.join(root, `${recipe}-s${seed}`);
  mkdirSync(path.join(dir, 'model'), { recursive: true });
  writeFileSync(path.join(dir, 'train-config.json'), JSON.stringify({ name: recipe, model: recipe.replace('-c100', ''), steps: 20, batchSize: 8, lr: 0.002,
    warmupSteps: 2, tokenizer: 'flickr8k-4k', wordPrior: true, data: [{ dataset: 'flickr8k:train', weight: 1 }] }));
  const lines = [10, 20].map((step) => JSON.stringify({ event: 'train', step, loss: 6 - step / 10 - seed / 100, imagesPerSecond: 40 + step }));
  if (finished) lines.push(JSON.stringify({ event: 'summary', steps: 20, finalLoss: 4, imagesPerSecond: 45, seconds: 3 }));
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n{"torn');
  if (!finished) return;
  writeFileSync(path.join(dir, 'model', 'config.json'), JSON.stringify({ config: { image: { imageSize: 64 } } }));
  if (cifar10 !== null) writeFileSync(path.join(dir, 'eval.json'), JSON.stringify(evalRecord(recipe, seed, cifar10)));
}

describe('experiment report', () => {
  let root = '';
  const configs = [CONFIGURATIONS.A!, CONFIGURATIONS.B!];
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'hyperclip-report-'));
    // A: HyperCLIP 0.30/0.34/0.29, SigLIP 0.25/0.30/0.28 -> differences 0.05, 0.04, 0.01.
    [0.3, 0.34, 0.29].forEach((v, s) => writeRun(root, 'tiny-hyperclip', s, v));
    [0.25, 0.3, 0.28].forEach((v, s) => writeRun(root, 'tiny-siglip', s, v));
    // B: one HyperCLIP run trained but not evaluated, one stopped mid-training, SigLIP seed 2 never started.
    writeRun(root, 'tiny-hyperclip-c100', 0, 0.2);
    writeRun(root, 'tiny-hyperclip-c100', 1, null);
    writeRun(root, 'tiny-hyperclip-c100', 2, null, false);
    writeRun(root, 'tiny-siglip-c100', 0, 0.22);
    writeRun(root, 'tiny-siglip-c100', 1, 0.18);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('computes sample std and the seed-paired difference', () => {
    const s = spread([0.3, 0.34, 0.29]);
    assert.equal(s.n, 3);
    assert.ok(Math.abs(s.mean - 0.31) < 1e-12);
    assert.ok(Math.abs(s.std - Math.sqrt(0.0007)) < 1e-12); // squares 0.0001 + 0.0009 + 0.0004 over n - 1 = 2
    assert.ok(Number.isNaN(spread([0.5]).std));
    const d = pairedDifference(new Map([[0, 0.3], [1, 0.34], [2, 0.29]]), new Map([[0, 0.25], [1, 0.3], [3, 0.9]]));
    assert.deepEqual(d.seeds, [0, 1]);
    assert.ok(Math.abs(d.mean - 0.045) < 1e-12);
    assert.ok(Math.abs(d.std - Math.sqrt(0.00005)) < 1e-12);
    assert.equal(d.wins, 2);
  });

  it('counts a finished run without its model folder (weights are not committed) as evaluated', () => {
    const dir = path.join(root, 'tiny-siglip-s0');
    const before = readRuns(root, configs, [0]).find((r) => r.name === 'tiny-siglip-s0')!;
    rmSync(path.join(dir, 'model'), { recursive: true });
    try {
      const run = readRuns(root, configs, [0]).find((r) => r.name === 'tiny-siglip-s0')!;
      assert.equal(run.status, 'evaluated');
      assert.equal(run.imageSize, 64, 'the image size comes from the recipe\'s model preset');
      assert.deepEqual(run.eval, before.eval);
    } finally {
      mkdirSync(path.join(dir, 'model'));
      writeFileSync(path.join(dir, 'model', 'config.json'), JSON.stringify({ config: { image: { imageSize: 64 } } }));
    }
  });

  it('reads run folders into states and cell statistics', () => {
    const runs = readRuns(root, configs, [0, 1, 2]);
    const status = Object.fromEntries(runs.map((r) => [r.name, r.status]));
    assert.equal(status['tiny-hyperclip-s0'], 'evaluated');
    assert.equal(status['tiny-hyperclip-c100-s1'], 'trained');
    assert.equal(status['tiny-hyperclip-c100-s2'], 'started');
    assert.equal(status['tiny-siglip-c100-s2'], 'missing');
    const a = cellStats(runs, 'A', 'cifar10Top1');
    assert.ok(Math.abs(a.difference.mean - (0.05 + 0.04 + 0.01) / 3) < 1e-12);
    assert.ok(Math.abs(a.difference.std - Math.sqrt(39) / 300) < 1e-12); // differences 15/300, 12/300, 3/300 around 10/300
    assert.equal(a.difference.wins, 3);
    const b = cellStats(runs, 'B', 'cifar10Top1');
    assert.equal(b.byModel.hyperclip.n, 1);
    assert.equal(b.byModel.siglip.n, 2);
    assert.equal(b.difference.n, 1);
    const hyper = runs.find((r) => r.name === 'tiny-hyperclip-s1')!;
    assert.equal(hyper.curve.length, 2, 'the torn last metrics line is skipped');
    assert.equal(hyper.imagesPerSecond, 55);
  });

  it('reads a resumed run as its last life: the superseded window is dropped and its time is not the run\'s', () => {
    const resumed = mkdtempSync(path.join(os.tmpdir(), 'hyperclip-report-resumed-'));
    try {
      writeRun(resumed, 'tiny-hyperclip', 0, 0.3);
      // Killed after step 20 was logged, resumed from the step-10 checkpoint.
      const lines = [{ event: 'train', step: 10, loss: 6, imagesPerSecond: 40 }, { event: 'train', step: 20, loss: 5.5, imagesPerSecond: 10 },
        { event: 'resume', step: 10 }, { event: 'train', step: 20, loss: 5, imagesPerSecond: 50 },
        { event: 'summary', steps: 20, finalLoss: 5, imagesPerSecond: 50, seconds: 1 }];
      writeFileSync(path.join(resumed, 'tiny-hyperclip-s0', 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const run = readRuns(resumed, [CONFIGURATIONS.A!], [0]).find((r) => r.name === 'tiny-hyperclip-s0')!;
      assert.deepEqual(run.curve, [{ step: 10, loss: 6 }, { step: 20, loss: 5 }]);
      assert.equal(run.imagesPerSecond, 45, 'the median of the last life\'s windows, 40 and 50');
      assert.equal(run.loggedSteps, 20);
      assert.equal(run.trainSeconds, null, 'the summary times only the last segment');
    } finally {
      rmSync(resumed, { recursive: true, force: true });
    }
  });

  it('writes a report that states the numbers, the missing runs and the non-zero-shot set', async () => {
    const reportFile = path.join(root, 'report', 'results.md');
    const { plots } = await writeReport({ outDir: root, reportFile, configurations: configs, seeds: [0, 1, 2] });
    const md = readFileSync(reportFile, 'utf8');
    assert.match(md, /9 of 12 planned runs/);
    assert.match(md, /`tiny-siglip-c100-s2`: not started/);
    assert.match(md, /`tiny-hyperclip-c100-s2`: training stopped or in progress at step 20 of 20/);
    assert.match(md, /`tiny-hyperclip-c100-s1`: trained, not evaluated yet/);
    assert.match(md, /CIFAR-100 top-1 — \*\*NOT zero-shot\*\*/);
    // A, CIFAR-10 top-1: HyperCLIP 31.00 ± 2.65, SigLIP 27.67 ± 2.52, paired difference +3.33 ± 2.08 over 3 seeds.
    // Twice its standard error is 2 x 2.08 / √3 = 2.40 points: +3.33 is beyond noise, in the table and the headline alike.
    assert.match(md, /\| CIFAR-10 top-1 \| 31\.00 ± 2\.65 \(n=3\) \| 27\.67 ± 2\.52 \(n=3\) \| \+3\.33 ± 2\.08 \(3\) \| 3 of 3 \| beyond noise \|/);
    assert.match(md, /configuration A: \*\*yes, beyond noise\*\* — .* twice its standard error 2\.40 points/);
    assert.match(md, /met, beyond noise\*\* — best is `tiny-hyperclip-s1` \(configuration A\) with 34\.00%/);
    // B has one pair: no headline may call it either way.
    assert.match(md, /configuration B: \*\*no spread to judge \(SigLIP ahead on the means\)\*\*/);
    assert.match(md, /on 1 paired seed\(s\).*With 1 pair\(s\) the seed spread is too uncertain.*no conclusion yet/);
    assert.match(md, /Cells with fewer than 3 seeds.*B\/HyperCLIP n=1.*B\/SigLIP n=2/);
    assert.equal(plots.length, 4);
    for (const p of plots) assert.ok(md.includes(path.relative(path.dirname(reportFile), p)), `the report links ${p}`);
  });

  it('states the throughput ratio over the same finished runs as the cost table, not a run still training', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hyperclip-report-rate-'));
    try {
      writeRun(dir, 'tiny-hyperclip', 0, 0.3);
      writeRun(dir, 'tiny-hyperclip', 1, null, false);
      // In progress and slow (the machine was busy): counted, it would pull HyperCLIP's median rate to 37.5 and the ratio to 68%.
      writeFileSync(path.join(dir, 'tiny-hyperclip-s1', 'metrics.jsonl'), JSON.stringify({ event: 'train', step: 10, loss: 5, imagesPerSecond: 20 }) + '\n');
      writeRun(dir, 'tiny-siglip', 0, 0.25);
      const reportFile = path.join(dir, 'results.md');
      await writeReport({ outDir: dir, reportFile, configurations: [CONFIGURATIONS.A!], seeds: [0, 1] });
      const md = readFileSync(reportFile, 'utf8');
      assert.match(md, /\| HyperCLIP \| 55\.0 \| .* \| 1 \|/);
      assert.match(md, /HyperCLIP trains at 100% of SigLIP's throughput here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('calls a lead within twice its standard error "within noise" in the headline, never "yes"', async () => {
    const noisy = mkdtempSync(path.join(os.tmpdir(), 'hyperclip-report-noisy-'));
    try {
      // Differences +0.05, −0.03, +0.01: mean +1.00 points, std 4.00, twice the standard error 4.62 points.
      [0.30, 0.27, 0.29].forEach((v, s) => writeRun(noisy, 'tiny-hyperclip', s, v));
      [0.25, 0.30, 0.28].forEach((v, s) => writeRun(noisy, 'tiny-siglip', s, v));
      const reportFile = path.join(noisy, 'results.md');
      await writeReport({ outDir: noisy, reportFile, configurations: [CONFIGURATIONS.A!], seeds: [0, 1, 2] });
      const md = readFileSync(reportFile, 'utf8');
      assert.match(md, /configuration A: \*\*within noise \(HyperCLIP ahead on the means\)\*\* — 28\.67% \(n=3\) vs 27\.67% \(n=3\), paired difference \+1\.00 ± 4\.00 points/);
      assert.doesNotMatch(md, /\*\*yes/);
      assert.match(md, /\| CIFAR-10 top-1 \| .* \| \+1\.00 ± 4\.00 \(3\) \| 2 of 3 \| within noise \|/);
      assert.match(md, /CIFAR-10 top-1: HyperCLIP 28\.67% vs SigLIP 27\.67%; .* Within noise:/);
    } finally {
      rmSync(noisy, { recursive: true, force: true });
    }
  });

  it('says plainly that nothing has run when the folder is empty', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'hyperclip-report-empty-'));
    try {
      const reportFile = path.join(empty, 'results.md');
      const { plots } = await writeReport({ outDir: empty, reportFile, configurations: configs, seeds: [0, 1, 2] });
      const md = readFileSync(reportFile, 'utf8');
      assert.match(md, /0 of 12 planned runs/);
      assert.match(md, /\*\*No experiment run has finished yet\*\*/);
      assert.match(md, /npm run experiment/);
      assert.doesNotMatch(md, /mean ± std/);
      assert.equal(plots.length, 0);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('renders a plot to a PNG', async () => {
    const runs = readRuns(root, configs, [0, 1, 2]);
    const png = await renderPng(accuracyBarSpec(runs, CONFIGURATIONS.A!));
    assert.ok(png.length > 1000);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  });
});
