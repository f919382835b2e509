// docs/pruning.md and its plot from the recorded results of experiments/pruning.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { markdownTable, percent } from '../../src/eval/format.js';
import { renderPng } from '../../tools/render-png.js';
import { accuracyDifferenceError, judgeNoise, type NoiseVerdict } from '../../tools/stats.js';
import { medianStandardError } from '../../tools/timing.js';
import { CLASSIFIER_CALIBRATION_IMAGES } from './classifiers.js';
import { hostLine } from './host-line.js';
import { FULL_PRETRAINED_COMMAND, pretrainedSection } from './pretrained-report.js';
import type { ClassifierRecord, GridRecord, LayersRecord, ResultRecord } from './records.js';

export interface PruningReportInput {
  results: ResultRecord[];
  modelDir: string;
  limit: number;
  draws: number;
  calibN: number;
  levels: string[];
  file: string;
  argv: string[];
  /** The pretrained mode's records (any network), for their own section; none: the section says how to run it. */
  pretrained?: ResultRecord[];
}

const PARTS = ['text', 'image', 'hypernet', 'all'] as const;
const METRICS = [
  { key: 'cifar10', label: 'CIFAR-10 top-1' },
  { key: 'cifar100', label: 'CIFAR-100 top-1' },
  { key: 'r1', label: 'Flickr8k R@1 (mean of image→text, text→image)' },
] as const;
type MetricKey = typeof METRICS[number]['key'];

const value = (r: GridRecord, key: MetricKey): number => (key === 'r1' ? (r.imageToText + r.textToImage) / 2 : r[key]);
const pct = (x: number): string => percent(x, { digits: 1 });

interface Cell { mean: number; std: number; n: number }
function cell(rows: GridRecord[], key: MetricKey): Cell | null {
  if (rows.length === 0) return null;
  const xs = rows.map((r) => value(r, key));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, n: xs.length };
}
const show = (c: Cell | null): string => (c === null ? '–' : c.n > 1 ? `${pct(c.mean)} ± ${pct(c.std)}` : pct(c.mean));

function gridOf(input: PruningReportInput): GridRecord[] {
  return input.results.filter((r): r is GridRecord => r.kind === 'grid' && r.limit === input.limit && (r.method !== 'wanda' || r.calibN === input.calibN));
}

function select(grid: GridRecord[], part: string, method: string, level: string): GridRecord[] {
  return grid.filter((r) => r.part === part && r.method === method && r.level === level);
}

/** The targets' and the tables' one rule: two accuracies on n images each differ beyond noise when the gap is over twice the standard error of their difference. */
const accuracyNoise = (a: number, b: number, n: number): NoiseVerdict => judgeNoise(a - b, accuracyDifferenceError(a, b, n));

function tables(grid: GridRecord[], levels: string[], limit: number): string[] {
  const dense = grid.filter((r) => r.method === 'dense');
  const lines: string[] = [];
  for (const part of PARTS) {
    lines.push(`### Pruned: ${part === 'all' ? 'all three parts together' : `the ${part === 'hypernet' ? 'hypernetwork' : `${part} encoder`} only`}`, '');
    const rows = [['0 (dense)', ...METRICS.flatMap((m) => [show(cell(dense, m.key)), show(cell(dense, m.key))])]];
    for (const level of levels) {
      const w = select(grid, part, 'wanda', level), g = select(grid, part, 'magnitude', level);
      rows.push([level, ...METRICS.flatMap((m) => {
        const a = cell(w, m.key), b = cell(g, m.key);
        const bold = (c: Cell | null, other: Cell | null) =>
          (c !== null && other !== null && c.mean > other.mean && accuracyNoise(c.mean, other.mean, limit) === 'beyond noise' ? `**${show(c)}**` : show(c));
        return [bold(a, b), bold(b, a)];
      })]);
    }
    lines.push(...markdownTable(['sparsity', ...METRICS.flatMap((m) => [`${m.label}: wanda`, 'magnitude'])], rows), '');
  }
  return lines;
}

/** What the classifier records say about latency: every pruned classifier against the dense one, by the same noise rule. */
export function latencyVerdict(rows: ClassifierRecord[]): string {
  const dense = rows.find((r) => r.method === 'dense');
  if (dense === undefined || rows.length < 2) return '';
  const ms = rows.map((r) => r.latencyMs);
  const range = `${Math.min(...ms).toFixed(2)}-${Math.max(...ms).toFixed(2)} ms for one image`;
  const spreadOf = (r: ClassifierRecord) => (r.latencyQuartilesMs && r.latencyRuns
    ? medianStandardError({ median: r.latencyMs, q1: r.latencyQuartilesMs[0], q3: r.latencyQuartilesMs[1], n: r.latencyRuns }) : NaN);
  if (!Number.isFinite(spreadOf(dense))) {
    return `The measured latencies range over ${range}; these records keep only each classifier's median, so whether those differences are beyond noise cannot be judged from them (a rerun of the measurement records the quartiles).`;
  }
  const pruned = rows.filter((r) => r.method !== 'dense');
  const verdicts = pruned.map((r) => ({ r, noise: judgeNoise(r.latencyMs - dense.latencyMs, Math.hypot(spreadOf(r), spreadOf(dense))) }));
  const faster = verdicts.filter((v) => v.noise === 'beyond noise' && v.r.latencyMs < dense.latencyMs).map((v) => `${v.r.method} ${v.r.level}`);
  const slower = verdicts.filter((v) => v.noise === 'beyond noise' && v.r.latencyMs > dense.latencyMs).map((v) => `${v.r.method} ${v.r.level}`);
  const within = verdicts.filter((v) => v.noise !== 'beyond noise').length;
  return `Measured (${range}), against the dense classifier by the same noise rule on the medians of ${dense.latencyRuns} runs: ${within} of ${pruned.length} pruned classifiers within noise` +
    `${faster.length > 0 ? `; faster beyond noise: ${faster.join(', ')}` : ''}${slower.length > 0 ? `; slower beyond noise: ${slower.join(', ')}` : ''}` +
    ' (runs timed one classifier after another, so machine load that changes between them shows up as a difference).';
}

function targets(grid: GridRecord[], levels: string[], limit: number): string[] {
  const lines = ['## The targets', ''];
  const checked = levels.filter((l) => l === '2:4' || (!l.includes(':') && Number(l) >= 0.5));
  const misses: string[] = [];
  let compared = 0, clearMisses = 0, clearWins = 0;
  for (const part of PARTS) for (const level of checked) for (const m of METRICS) {
    const w = cell(select(grid, part, 'wanda', level), m.key), g = cell(select(grid, part, 'magnitude', level), m.key);
    if (w === null || g === null) continue;
    compared++;
    const clear = accuracyNoise(w.mean, g.mean, limit) === 'beyond noise';
    if (clear && w.mean > g.mean) clearWins++;
    if (!(w.mean > g.mean)) {
      if (clear) clearMisses++;
      misses.push(`${part} ${level} ${m.label}: wanda ${pct(w.mean)} vs magnitude ${pct(g.mean)}${clear ? ' (beyond noise)' : ''}`);
    }
  }
  lines.push(`- Wanda above magnitude at every sparsity ≥ 0.5 and at 2:4 (mean over draws; every part and metric): ` +
    (compared === 0 ? 'not measured yet.' : misses.length === 0 ? `**met** in all ${compared} comparisons (Wanda ahead beyond noise in ${clearWins}).` :
      `**not met on the means in ${misses.length} of ${compared} comparisons; beyond noise, magnitude is ahead in ${clearMisses} and Wanda in ${clearWins}, ` +
      `the other ${compared - clearMisses - clearWins} are within noise** (noise: twice the standard error of a difference of two accuracies on ${limit} images, ` +
      `unpaired, so conservative). The misses ("beyond noise" marked): ${misses.join('; ')}.`));
  const dense = grid.filter((r) => r.method === 'dense');
  const text = select(grid, 'text', 'wanda', '0.5');
  for (const key of ['cifar10', 'cifar100'] as const) {
    const d = cell(dense, key), t = cell(text, key);
    const label = METRICS.find((m) => m.key === key)!.label;
    if (d === null || t === null) { lines.push(`- Text encoder at 50% Wanda keeps ≥ 95% of the dense ${label}: not measured yet.`); continue; }
    const kept = t.mean / d.mean;
    // Against the target itself: the pruned accuracy vs 95% of the dense one, with the noise of the two measurements.
    const noise = judgeNoise(t.mean - 0.95 * d.mean, accuracyDifferenceError(t.mean, d.mean, limit));
    lines.push(`- Text encoder at 50% Wanda keeps ≥ 95% of the dense ${label}: **${kept >= 0.95 ? 'met' : 'not met'}, ${noise}** — ${pct(t.mean)}% vs ${pct(d.mean)}% dense ` +
      `(${percent(kept, { digits: 1 })}% kept; twice the standard error of the difference is ${pct(2 * accuracyDifferenceError(t.mean, d.mean, limit))} points).`);
  }
  return [...lines, ''];
}

function layerSection(input: PruningReportInput): string[] {
  const record = input.results.find((r): r is LayersRecord => r.kind === 'layers' && r.calibN === input.calibN);
  if (record === undefined) return ['Not measured yet.', ''];
  const rows = record.rows.filter((r) => Number.isFinite(r.wanda) && Number.isFinite(r.magnitude));
  const table: (string | number)[][] = [];
  for (const part of ['textEncoder', 'hypernet', 'image']) {
    const mine = rows.filter((r) => (part === 'image' ? r.name.startsWith('image') : r.name.startsWith(part)));
    if (mine.length === 0) continue;
    const ratios = mine.map((r) => r.wanda / r.magnitude).sort((a, b) => a - b);
    table.push([part === 'textEncoder' ? 'text' : part, mine.length, mine.filter((r) => r.wanda < r.magnitude).length, ratios[Math.floor(ratios.length / 2)]!.toFixed(2)]);
  }
  const lower = rows.filter((r) => r.wanda < r.magnitude).length;
  return [`With the dense model's inputs (calibration draw 0), Wanda's mask gives the lower output error ||X (W − W_pruned)ᵀ||² in **${lower} of ${rows.length}** Linear and 1x1-convolution layers at 50%:`, '',
    ...markdownTable(['part', 'layers', 'wanda\'s error lower', 'median error ratio wanda / magnitude'], table), ''];
}

function classifierTable(rows: ClassifierRecord[]): string[] {
  if (rows.length === 0) return ['Not measured yet.', ''];
  const dense = rows.find((r) => r.method === 'dense')!;
  return [...markdownTable(['classifier', 'sparsity of pruned layers', 'file', 'top-1', 'latency, 1 image', 'throughput, batch 64'], rows.map((r) => [
    r.method === 'dense' ? 'dense' : `${r.method} ${r.level}`, `${pct(r.overall)}%`, `${(r.bytes / 1024).toFixed(0)} KB (${percent(r.bytes / dense.bytes, { digits: 0 })}%)`,
    `${pct(r.top1)}%`, `${r.latencyMs.toFixed(2)} ms`, `${r.imagesPerSecond.toFixed(0)} images/s`])), ''];
}

function plotSpec(grid: GridRecord[], levels: string[]): TopLevelSpec {
  const order = ['0', ...levels];
  const values: { part: string; method: string; level: string; top1: number }[] = grid.filter((r) => r.method !== 'dense').map((r) => ({ part: r.part, method: r.method, level: r.level, top1: 100 * r.cifar10 }));
  for (const d of grid.filter((r) => r.method === 'dense')) for (const part of PARTS) for (const method of ['wanda', 'magnitude']) values.push({ part, method, level: '0', top1: 100 * d.cifar10 });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Zero-shot CIFAR-10 top-1 of the pruned model, no retraining (mean over calibration draws)', fontSize: 13 },
    background: 'white', data: { values },
    facet: { field: 'part', type: 'nominal', title: 'pruned part', sort: [...PARTS] }, columns: 4,
    spec: {
      width: 190, height: 220,
      layer: [
        { mark: { type: 'line', point: true }, encoding: {
          x: { field: 'level', type: 'ordinal', sort: order, title: 'sparsity' },
          y: { aggregate: 'mean', field: 'top1', type: 'quantitative', title: 'CIFAR-10 top-1 (%)' },
          color: { field: 'method', type: 'nominal', scale: { domain: ['wanda', 'magnitude'], range: ['#d62728', '#1f77b4'] } } } },
        { mark: { type: 'point', opacity: 0.35, size: 14 }, encoding: {
          x: { field: 'level', type: 'ordinal', sort: order }, y: { field: 'top1', type: 'quantitative' }, color: { field: 'method', type: 'nominal' } } },
      ],
    },
    config: { font: 'DejaVu Sans', view: { stroke: null } },
  } as TopLevelSpec;
}

export async function writePruningReport(input: PruningReportInput): Promise<void> {
  const grid = gridOf(input);
  const classifiers = input.results.filter((r): r is ClassifierRecord => r.kind === 'classifier' && r.limit === input.limit);
  const reportDir = path.dirname(path.resolve(input.file));
  const plotFile = path.join(reportDir, 'plots', 'pruning-cifar10.png');
  mkdirSync(path.dirname(plotFile), { recursive: true });
  if (grid.some((r) => r.method !== 'dense')) writeFileSync(plotFile, await renderPng(plotSpec(grid, input.levels)));
  const seconds = grid.reduce((s, r) => s + r.seconds, 0);
  const planned = 1 + PARTS.length * input.levels.length * (input.draws + 1);
  const complete = grid.length >= planned;
  const model = path.relative(process.cwd(), input.modelDir) || '.';
  const lines = [
    '# Pruning without retraining: Wanda vs magnitude',
    '',
    `Model: \`${model}\`. Regenerate with \`npm run experiment:pruning${input.argv.length > 0 ? ` -- ${input.argv.join(' ')}` : ''}\`.`,
    `${hostLine(input.results)} One libtorch thread and one onnxruntime thread (the experiment sets both); ${grid.length} of the ${planned} planned grid points recorded, ${(seconds / 60).toFixed(0)} minutes of pruning and evaluation in all (wall clock; other jobs may have shared the machine).`,
    ...(complete ? [] : ['', `**This report is partial**: the run was stopped before the whole grid was done (a cell marked – is not measured yet; a cell without ± has one draw). The same command resumes it from \`runs/pruning/results.jsonl\`.`]),
    '',
    `The last section prunes the image encoder of an ImageNet-trained MobileNet alone and checks it by its own ImageNet head: \`${FULL_PRETRAINED_COMMAND}\` (the MobileNet v2 the shipped default locks as its image tower, there at 160 px; its own records, rebuilt by the same \`--report-only\`).`,
    '',
    '## What was measured',
    '',
    '- **Pruning** (`hyperclip prune`, `src/compress/`): every Linear layer and dense convolution of the chosen part, each output row on its own: ' +
    '`magnitude` drops the smallest |W_ij|, `wanda` the smallest |W_ij| · ||X_j||₂ (input-feature norm over the calibration data; a convolution\'s columns are ' +
    'the (channel, kernel row, kernel column) columns of its unfolded input). Wanda is sequential: layer by layer in forward order, each calibrated on what the already ' +
    'pruned layers before it output. N:M keeps N of every M consecutive input channels. No weight update, no retraining. Left dense: token and position ' +
    'embeddings, norms, depthwise convolutions, the 3-channel stem under N:M (3 inputs are not a multiple of M).',
    `- **Parts**: text = the text encoder's attention, MLP and projection layers; hypernet = the hypernetwork's input projection, transformer and head; ` +
    'image = the image encoder\'s convolutions (stem, expand, squeeze-excitation, project, head) and the image projection; all = the three together, in one sequential pass.',
    `- **Calibration**: ${input.calibN} Flickr8k **train** image-caption pairs per draw (seeded draws 0..${input.draws - 1}); the captions run through the text encoder, ` +
    'groups of them as tasks through the hypernetwork, the images through the image encoder conditioned on them (a training step\'s forward). Magnitude needs no data: one run.',
    `- **Evaluation limits**: zero-shot CIFAR-10 test and CIFAR-100 test (re-split, see the data README), ${input.limit} images each (the seeded sample \`hyperclip eval --limit ${input.limit}\` reads), ` +
    `the CLIP templates; Flickr8k test retrieval over the first ${input.limit} images and their 5 captions each, conditioned on the set of their first captions. ` +
    'Image embeddings come from the traced ONNX graph on onnxruntime (the deployed path), texts from the engine.',
    '- Chance: CIFAR-10 10%, CIFAR-100 1%, Flickr8k R@1 0.1% (image→text 0.02%).',
    `- Noise: a top-1 near 20% measured on ${input.limit} images has a standard error of ${(100 * Math.sqrt(0.2 * 0.8 / input.limit)).toFixed(1)} points, so differences below about twice that are not evidence either way.`,
    `- Cost: one grid point (prune + evaluate) took ${grid.length === 0 ? '–' : `${Math.min(...grid.map((r) => r.seconds)).toFixed(0)}–${Math.max(...grid.map((r) => r.seconds)).toFixed(0)}`} s of wall clock here; Wanda prunes all layers of a point in one forward of the calibration set (a hook before each layer measures its input and prunes it before it runs), so it costs about what magnitude does.`,
    '',
    ...targets(grid, input.levels, input.limit),
    '## Results (percent; mean ± std over calibration draws for wanda; bold: ahead of the other method beyond noise, by the targets\' rule)',
    '',
    ...(grid.some((r) => r.method !== 'dense') ? ['![CIFAR-10 top-1 vs sparsity](plots/pruning-cifar10.png)', ''] : []),
    ...tables(grid, input.levels, input.limit),
    '## Per-layer check of the criterion',
    '',
    ...layerSection(input),
    '## Pruned classifiers: file size and CPU latency',
    '',
    `The dense CIFAR-10 classifier (\`hyperclip generate\`, 10 classes, CLIP templates) pruned as an ONNX file (\`hyperclip prune classifier.onnx\`) with ${CLASSIFIER_CALIBRATION_IMAGES} unlabelled CIFAR-10 **train** images ` +
    `(wanda) or none (magnitude); top-1 on the same ${input.limit} CIFAR-10 test images; onnxruntime-node, CPU, one thread, all graph optimisations.`,
    '',
    ...classifierTable(classifiers),
    'Pruned weights are stored as a bit mask plus the kept values, so the file shrinks (about 53% of a layer\'s bytes at 50% sparsity; the classifier also holds dense biases, depthwise kernels and the class head). ' +
    '**Unstructured sparsity is not expected to speed up a CPU**: onnxruntime rebuilds the dense weights when the session is created (the decoding nodes fold to constants) and runs the same dense ' +
    'convolutions; its CPU kernels do not skip zeros, and neither do N:M patterns (2:4 pays off only on sparse tensor cores, e.g. NVIDIA Ampere GPUs): no speed-up ' +
    `is expected. ${latencyVerdict(classifiers)} A structured method (removing whole channels) is what makes a CPU model faster.`,
    '',
    ...pretrainedSection(input.pretrained ?? []),
  ];
  writeFileSync(input.file, lines.join('\n'));
}
