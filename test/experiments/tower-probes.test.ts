// The tower probes: each recipe changes the lever it names, the noise rule,
// the resolution rule, and the report on synthetic run folders.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probeConfig } from '../../experiments/tower-probes.js';
import { BASELINE_RECIPE, PROBES, parseProbes, probeRunName } from '../../experiments/tower-probes/plan.js';
import { buildProbeReport, compare, readProbeInput, resolutionVerdict } from '../../experiments/tower-probes/report.js';
import { HyperClip } from '../../src/models/hyperclip.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { trainableParameters } from '../../src/train/param-groups.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import { modelConfigFor } from '../../src/train/trainer.js';

const probe = (id: string) => PROBES.find((p) => p.recipe === `${BASELINE_RECIPE}-${id}`)!;

describe('tower probes: recipes', () => {
  const tokenizer = Tokenizer.load('wordnet-8k');
  const modelOf = (recipe: string) => {
    const config = resolveTrainConfig(recipe, undefined);
    return { config, model: new HyperClip(modelConfigFor(config, tokenizer)) };
  };

  it('generates the stages it says, at the resolution it says', () => {
    const targets = (recipe: string) => modelOf(recipe).model.hypernet!.targets.map((t) => t.name);
    assert.deepEqual(targets(BASELINE_RECIPE), ['blocks.16.expandConv.norm', 'blocks.16.depthwise.norm', 'blocks.16.project.norm', 'head.norm']);
    assert.deepEqual(targets(probe('last1').recipe), ['head.norm']);
    const five = targets(probe('last5').recipe);
    assert.equal(five.length, 34);
    assert.equal(five[0], 'blocks.6.expandConv.norm');
    assert.equal(modelOf(probe('px96').recipe).model.config.image.imageSize, 96);
    assert.equal(modelOf(probe('px128').recipe).model.config.image.imageSize, 128);
    assert.equal(modelOf(BASELINE_RECIPE).model.config.image.imageSize, 160);
  });

  it('tunes exactly the generated stages\' image weights, at a tenth of the rate', () => {
    const { config, model } = modelOf(probe('tuned').recipe);
    const image = trainableParameters(model, config.freeze).map(([n]) => n).filter((n) => n.startsWith('imageEncoder.'));
    assert.ok(image.length > 0);
    assert.ok(image.every((n) => /^imageEncoder\.(blocks\.16|head)\./.test(n)), image.join(' '));
    assert.ok(image.includes('imageEncoder.head.conv.weight') && image.includes('imageEncoder.blocks.16.project.conv.weight'));
    assert.deepEqual(config.lrScale, { imageEncoder: 0.1 });
    const locked = modelOf(BASELINE_RECIPE);
    assert.deepEqual(trainableParameters(locked.model, locked.config.freeze).filter(([n]) => n.startsWith('imageEncoder.')), []);
  });

  it('a quick check validates at its last step; unknown probes are one line', () => {
    const c = probeConfig(probe('px96'), 3, { steps: 4, validationLimit: 16 });
    assert.equal(c.seed, 3);
    assert.equal(c.validateEvery, 4);
    assert.equal(c.validation.heldOutLimit, 16);
    assert.deepEqual(parseProbes('px96, mnv2-hyperclip-lit-tuned').map((p) => p.recipe), ['mnv2-hyperclip-lit-px96', 'mnv2-hyperclip-lit-tuned']);
    assert.throws(() => parseProbes('px64'), /unknown probe "px64"; known: px128, px96, last1, last5, tuned/);
    assert.throws(() => parseProbes(' , '), /--probes is empty/);
  });
});

describe('tower probes: noise and verdicts', () => {
  it('judges a one-seed probe by the baseline\'s seed spread, √(1/3 + 1) of it', () => {
    const c = compare([0.1], [0.12, 0.13, 0.14]); // s = 0.01, SE = 0.01 · √(4/3) = 0.01155
    assert.ok(Math.abs(c.difference + 0.03) < 1e-12);
    assert.ok(Math.abs(c.standardError - 0.01 * Math.sqrt(4 / 3)) < 1e-12);
    assert.equal(c.verdict, 'beyond noise'); // 0.03 > 0.0231
    assert.equal(compare([0.115], [0.12, 0.13, 0.14]).verdict, 'within noise');
    assert.equal(compare([0.1], [0.12, 0.13]).verdict, 'no spread to judge');
    assert.equal(compare([], [0.12, 0.13, 0.14]).verdict, 'no spread to judge');
  });
});

/** A run folder as training leaves it; `validation` null: still training at step 100. */
function writeRun(root: string, name: string, validation: { tin: number; heldOut: number } | null, rate = 30): void {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'train-config.json'), JSON.stringify({ name, model: 'mnv2-hyperclip', steps: 350, batchSize: 128 }));
  writeFileSync(path.join(dir, 'host.json'), JSON.stringify({ cpus: 2, cpuModel: 'test', platform: 'linux', node: 'v20' }));
  const lines = [10, 20].map((step) => ({ event: 'train', step, loss: 9, imagesPerSecond: rate }));
  if (validation !== null) {
    lines.push({ event: 'validation', step: 350, tinyImagenetTop1: validation.tin, heldOutTop1: validation.heldOut, imageToTextR1: 0.03, textToImageR1: 0.02 } as never);
    lines.push({ event: 'summary', steps: 350, seconds: 1800, imagesPerSecond: rate } as never);
  } else {
    lines.push({ event: 'train', step: 100, loss: 8, imagesPerSecond: rate });
  }
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

/** A bench:train record of a probe timed beside the baseline, with these per-round ratios. */
const timedRecord = (recipe: string, ratios: number[]) => ({
  command: `npm run bench:train -- --recipes ${recipe},${BASELINE_RECIPE} --steps-per-round 1 --record`, date: '2026-12-06T17:00:00Z',
  output: [`ratio over all timed steps: 1.000; per-round ratios: ${ratios.map((r) => r.toFixed(3)).join(' ')}`],
});

describe('tower probes: report', () => {
  let root = '';
  const base = () => path.join(root, 'experiment');
  const probes = () => path.join(root, 'probes');
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'hyperclip-probes-'));
    // Baseline: TIN 0.12 / 0.13 / 0.14 (s = 0.01), held-out 0.22 / 0.24 / 0.26 (s = 0.02).
    // In-training rates 30 / 32 / 28 img/s: their median, 30, is the 1.00× of the img/s column (the verdict reads side-by-side records instead).
    [[0.12, 0.22, 30], [0.13, 0.24, 32], [0.14, 0.26, 28]].forEach(([tin, heldOut, rate], s) => writeRun(base(), probeRunName(BASELINE_RECIPE, s), { tin: tin!, heldOut: heldOut! }, rate));
    writeRun(probes(), probeRunName(probe('px128').recipe, 0), { tin: 0.125, heldOut: 0.23 }, 45); // within noise on both
    writeRun(probes(), probeRunName(probe('px96').recipe, 0), { tin: 0.09, heldOut: 0.22 }, 60); // TIN beyond noise below
    writeRun(probes(), probeRunName(probe('last1').recipe, 0), { tin: 0.2, heldOut: 0.3 }, 31); // beyond noise above
    writeRun(probes(), probeRunName(probe('tuned').recipe, 0), null); // still training
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('picks the resolution not beaten beyond noise that trains fastest side by side, and says what is unfinished', () => {
    const records = [timedRecord(probe('px128').recipe, [1.1, 1.2, 1.3, 1.25, 1.2, 1.15, 1.3, 1.2]), timedRecord(probe('px96').recipe, [2, 2.1, 1.9, 2, 2.2, 1.8, 2, 2])];
    const input = readProbeInput(probes(), base(), [0], 'cmd', [0, 1, 2], records);
    // 96 px is faster still, but it loses beyond noise on Tiny ImageNet val.
    assert.match(resolutionVerdict(input), /^\*\*128 px\*\*: it keeps 160 px's accuracy within noise and trains faster beside it, the whole 95% interval above 1 .*128 px: .*1\.20× \(1\.15–1\.30\) the rate of 160 px side by side \(8 rounds, 2026-12-06\)/);
    const md = buildProbeReport(input);
    assert.match(md, /- `mnv2-hyperclip-lit-tuned-s0` \(probe\): started, logged to step 100 of 350/);
    assert.match(md, /- `mnv2-hyperclip-lit-last5-s0` \(probe\): not started/);
    assert.match(md, /\| `px96` \| [^|]+ \| 9\.00 \(−4\.00, beyond noise\) \| 22\.00 \(−2\.00, within noise\) \|/);
    // The baseline's median CPU-h: 350 × 128 images at 30 img/s on 2 cores, 0.83 (its 1800 s of wall time hold validation and pauses too);
    // px128's is that over its side-by-side ratio, 0.83 / 1.20 = 0.69, not its own in-run 0.55 at 45 img/s.
    assert.match(md, /\| `px128` \| .* \| 45\.0 \(1\.50×\) \| 1\.20× \(1\.15–1\.30\) \| 0\.69 \| 1 \|/, 'img/s against the baseline\'s median, then side by side');
    // 350 × 128 at 31 img/s: 0.80, its own in-run figure, marked.
    assert.match(md, /\| `last1` \| .* \| 31\.0 \(1\.03×\) \| — \| 0\.80 \(in-run\) \| 1 \|/, 'a probe never timed side by side');
    assert.match(md, /`mnv2-hyperclip-lit-last1`: Tiny ImageNet val top-1 \+7\.00 points \(beyond noise\); held-out names top-1 \+6\.00 points \(beyond noise\); not timed side by side\./);
    assert.match(md, /`mnv2-hyperclip-lit-tuned`: Tiny ImageNet val top-1 not measured \(no spread to judge\)/);
    assert.match(md, /\| baseline \(E3\) \| [^|]+ \| 13\.00 \| 24\.00 \| 3\.00 \| 2\.00 \| 30\.0 \(1\.00×\) \| 1\.00× \| 0\.83 \| 3 \|/);
    assert.match(md, /Baseline \(mean ± seed std over 3\): Tiny ImageNet val top-1 13\.00 ± 1\.00; held-out names top-1 24\.00 ± 2\.00/);
  });

  it('keeps 160 px when no smaller resolution is both as accurate and faster side by side, asks for the timing it lacks, and judges nothing on two baseline seeds', () => {
    let records: ReturnType<typeof timedRecord>[] = [];
    const verdict = () => resolutionVerdict(readProbeInput(probes(), base(), [0], 'cmd', [0, 1, 2], records));
    writeRun(probes(), probeRunName(probe('px128').recipe, 0), { tin: 0.125, heldOut: 0.23 }, 33); // as accurate
    assert.match(verdict(), /^\*\*Not judged yet\*\*: 128 px keeps the accuracy within noise but has not been timed beside 160 px: run `npm run bench:train -- --recipes mnv2-hyperclip-lit-px128,mnv2-hyperclip-lit --steps-per-round 1 --record`/);
    records = [timedRecord(probe('px128').recipe, [0.9, 1.2, 1.0, 1.3, 0.95, 1.1, 1.05, 0.98])]; // its interval holds 1
    assert.match(verdict(), /^\*\*160 px\*\*: no smaller resolution both keeps its accuracy within noise and trains faster beside it/);
    records.push(timedRecord(probe('px128').recipe, [1.1, 1.2, 1.3, 1.25, 1.2, 1.15, 1.3, 1.2])); // the last record counts
    assert.match(verdict(), /^\*\*128 px\*\*.*1\.20× \(1\.15–1\.30\) the rate of 160 px side by side \(8 rounds, 2026-12-06; the last of 2 records of this pair\)/);
    writeRun(probes(), probeRunName(probe('px128').recipe, 0), { tin: 0.13, heldOut: 0.15 }, 45); // faster, but loses on the held-out names
    assert.match(verdict(), /^\*\*160 px\*\*/);
    rmSync(path.join(base(), probeRunName(BASELINE_RECIPE, 2)), { recursive: true });
    assert.match(verdict(), /^\*\*Not judged yet\*\*/);
  });
});
