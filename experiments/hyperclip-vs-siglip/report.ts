// docs/results.md, generated from the run folders: every number and every
// sentence that judges a number is computed here from the files, so the
// text can never disagree with the data it describes.
import { DEFAULT_OUT, MODEL_KINDS, MODEL_LABEL, METRICS, type Configuration, type Metric, type ModelKind } from './plan.js';
import type { RunState } from './runs.js';
import { cellStats, medianRate, pairedText, seedValues, trainedRuns, type CellStats } from './cells.js';
import { methodSection, setupSection, targetsSection } from './report-setup.js';
import { hasTowerRuns, towerSizeSection } from './tower-size.js';
import { spread, median, judgeNoise, MIN_PAIRS, pairedNoise, pairedStandardError, type Spread } from '../../tools/stats.js';
import { markdownTable, percent } from '../../src/eval/format.js';

export { cellStats, seedValues, type CellStats } from './cells.js';

export interface ReportInput {
  runs: RunState[];
  configurations: Configuration[];
  seeds: number[];
  /** The output folder, as the reader should type it. */
  outDir: string;
  /** Plot images relative to the report, by name (see plots.ts). */
  plots: { title: string; file: string }[];
  /** The last experiment invocation, if recorded. */
  lastCommand: string | null;
  /** The overlap section (docs/overlap.md, from experiments/overlap.ts), if generated. */
  overlap?: string | null;
  generatedAt: string;
}


const meanStd = (s: Spread): string =>
  s.n === 0 ? 'no runs' : `${percent(s.mean)} ± ${Number.isFinite(s.std) ? percent(s.std) : 'n/a'} (n=${s.n})`;

function metricLabel(c: Configuration, m: Metric): string {
  return c.seenInTraining.includes(m.dataset) ? `${m.label} — **NOT zero-shot** (its train split was in the training data)` : m.label;
}

function resultsTable(runs: RunState[], c: Configuration): string[] {
  const rows = METRICS.map((m) => {
    const cell = cellStats(runs, c.id, m.key);
    const d = cell.difference;
    return [metricLabel(c, m), meanStd(cell.byModel.hyperclip), meanStd(cell.byModel.siglip), pairedText(d), d.n === 0 ? '—' : `${d.wins} of ${d.n}`,
      d.n === 0 ? '—' : pairedNoise(d), percent(m.chance)];
  });
  return markdownTable(['metric (%)', 'HyperCLIP mean ± std (n)', 'SigLIP mean ± std (n)', 'HyperCLIP − SigLIP, paired: mean ± std (pairs)',
    'seeds HyperCLIP ahead', 'paired difference vs twice its standard error', 'chance (full test sets)'], rows);
}

/** One sentence per headline metric saying what the paired difference shows. */
export function verdict(c: Configuration, m: Metric, cell: CellStats): string {
  const { hyperclip: h, siglip: s } = cell.byModel;
  const d = cell.difference;
  const name = c.seenInTraining.includes(m.dataset) ? `${m.label} (not zero-shot here)` : m.label;
  if (h.n === 0 || s.n === 0) return `${name}: cannot compare yet (${h.n} HyperCLIP and ${s.n} SigLIP runs evaluated).`;
  const lead = d.mean > 0 ? `HyperCLIP is ahead by ${percent(d.mean)} points` : d.mean < 0 ? `SigLIP is ahead by ${percent(-d.mean)} points` : 'the two are level';
  let text = `${name}: HyperCLIP ${percent(h.mean)}% vs SigLIP ${percent(s.mean)}%; ${lead} on ${d.n} paired seed(s), HyperCLIP ahead in ${d.wins} of ${d.n}.`;
  if (d.n < Math.max(h.n, s.n)) text += ` (The means include ${Math.max(h.n, s.n) - d.n} seed(s) without a partner run, so they can disagree with the paired difference.)`;
  if (d.n < MIN_PAIRS) text += ` With ${d.n} pair(s) the seed spread is too uncertain to judge the difference against (a verdict needs ${MIN_PAIRS}): no conclusion yet.`;
  else {
    const standardError = pairedStandardError(d);
    text += pairedNoise(d) === 'beyond noise'
      ? ` Beyond noise: the difference is more than twice its standard error (${percent(standardError)} points), consistent across seeds (a rough rule with ${d.n} pairs, not a significance test).`
      : ` Within noise: the difference is within twice its standard error (${percent(standardError)} points), not distinguishable from seed noise.`;
  }
  if (Math.max(h.mean, s.mean) < 2 * m.chance) text += ` Both are below twice chance (${percent(m.chance)}%): the models barely do this task.`;
  return text;
}

function statusSection(input: ReportInput): string[] {
  const expected = input.runs.length;
  const done = input.runs.filter((r) => r.status === 'evaluated');
  const lines = ['## Status of the runs', ''];
  lines.push(`${done.length} of ${expected} planned runs (${input.configurations.length} configuration(s) × 2 models × ${input.seeds.length} seed(s)) are trained and evaluated.`);
  const notDone = input.runs.filter((r) => r.status !== 'evaluated');
  if (notDone.length === expected && notDone.every((r) => r.status === 'missing')) {
    lines.push('', `No run has started: \`${input.outDir}\` holds none of the planned run folders.`);
    return lines;
  }
  if (notDone.length > 0) {
    lines.push('', 'Missing or incomplete — the means below leave these out, so their n is smaller:', '');
    for (const r of notDone) lines.push(`- \`${r.name}\`: ${describeStatus(r)}`);
  }
  const small = input.configurations.flatMap((c) => MODEL_KINDS.map((m) => ({ c, m, n: seedValues(input.runs, c.id, m, 'cifar10Top1').size })))
    .filter((x) => x.n < 3);
  if (small.length > 0) {
    lines.push('', `Cells with fewer than 3 seeds (too few to trust a spread): ${small.map((x) => `${x.c.id}/${MODEL_LABEL[x.m]} n=${x.n}`).join(', ')}.`);
  }
  const limited = done.filter((r) => r.eval!.evalLimit !== null);
  if (limited.length > 0) {
    lines.push('', `**Evaluated on a sample, not the full test sets** (--eval-limit): ${limited.map((r) => `\`${r.name}\` (${r.eval!.evalLimit})`).join(', ')}.`);
  }
  return lines;
}

function describeStatus(r: RunState): string {
  if (r.status === 'missing') return 'not started';
  if (r.status === 'started') return `training stopped or in progress at step ${r.loggedSteps} of ${r.plannedSteps ?? '?'} (rerun the command to resume it)`;
  return 'trained, not evaluated yet';
}

function configurationSection(input: ReportInput, c: Configuration): string[] {
  const lines = [`## Configuration ${c.id}: ${c.title}`, '', `Recipes \`${c.recipes.hyperclip}\` and \`${c.recipes.siglip}\`.`];
  if (c.seenInTraining.length > 0) {
    lines.push(`CIFAR-100 train images, captioned by putting their class name into the CLIP prompt templates, are in the training mixture, so **CIFAR-100 test is NOT zero-shot in this configuration**: it measures recognition of classes trained on, with captions built from their names. CIFAR-10 stays zero-shot (no CIFAR-10 image was trained on, though its classes overlap CIFAR-100's vocabulary).`);
  }
  if (c.note) lines.push('', c.note);
  lines.push('', ...resultsTable(input.runs, c), '', '### What the numbers show', '');
  for (const m of METRICS.filter((x) => x.headline)) lines.push(`- ${verdict(c, m, cellStats(input.runs, c.id, m.key))}`);
  lines.push('', ...throughputTable(input.runs, c));
  return lines;
}

function throughputTable(runs: RunState[], c: Configuration): string[] {
  const rows = MODEL_KINDS.map((m) => {
    const mine = trainedRuns(runs, c.id, m);
    const rate = medianRate(runs, c.id, m);
    const seconds = spread(mine.map((r) => r.trainSeconds ?? NaN));
    const loss = spread(mine.map((r) => r.curve.at(-1)?.loss ?? NaN));
    return [MODEL_LABEL[m], Number.isFinite(rate) ? rate.toFixed(1) : '—', seconds.n > 0 ? seconds.mean.toFixed(0) : '—', loss.n > 0 ? loss.mean.toFixed(4) : '—', mine.length];
  });
  const lines = ['### Training cost', '', ...markdownTable(['model', 'img/s (median over seeds of each run\'s median log window)', 'wall time per run, s (mean, unresumed runs)',
    'final logged loss (mean)', 'runs'], rows)];
  // The same runs as the table: a run still training has a partial rate.
  const rates = (m: ModelKind) => trainedRuns(runs, c.id, m).map((r) => r.imagesPerSecond);
  const h = median(rates('hyperclip')), s = median(rates('siglip'));
  if (Number.isFinite(h) && Number.isFinite(s)) {
    // Unpaired over seeds: each run's rate depends on what else the machine ran at the time, not on the seed.
    const hs = spread(rates('hyperclip')), ss = spread(rates('siglip'));
    const enough = hs.n >= MIN_PAIRS && ss.n >= MIN_PAIRS;
    const noise = judgeNoise(hs.mean - ss.mean, enough ? Math.sqrt(hs.std ** 2 / hs.n + ss.std ** 2 / ss.n) : NaN);
    lines.push('', `HyperCLIP trains at ${(100 * h / s).toFixed(0)}% of SigLIP's throughput here, ${enough ? `${noise} by the seed spread of the runs' rates` : `not judged against noise (fewer than ${MIN_PAIRS} runs of each model)`} ` +
      '(the hypernetwork\'s extra cost, plus whatever else the machine was doing: these are wall-clock rates on a shared CPU).');
  }
  return lines;
}

export function buildReport(input: ReportInput): string {
  const lines = [
    '# Results: HyperCLIP vs SigLIP at the same tiny image encoder', '',
    `_Generated ${input.generatedAt} from the run folders in \`${input.outDir}\` by \`${reportCommand(input.outDir)}\`. Do not edit by hand: rerun the command._`, '',
    'The claim under test (Akinwande et al., arXiv 2412.16777): with the same small image encoder, HyperCLIP — whose hypernetwork turns the ' +
    'list of class names into the image encoder\'s normalisation parameters — beats a SigLIP-trained encoder at zero-shot classification. ' +
    'Both models here share the text encoder, image encoder, loss (sigmoid), data, schedule and seeds; they differ only in the hypernetwork.', '',
    ...statusSection(input), '',
  ];
  if (!input.runs.some((r) => r.status === 'evaluated')) {
    lines.push('**No experiment run has finished yet**, so there are no results to report. Run the experiment (hours on a 2-core CPU) and this file is rewritten with the numbers:', '',
      ...setupSection(input), '', ...methodSection());
    return finish(lines);
  }
  lines.push(...targetsSection(input), '');
  if (hasTowerRuns(input.runs)) lines.push(...towerSizeSection(input.runs), '');
  for (const c of input.configurations) lines.push(...configurationSection(input, c), '');
  if (input.overlap) lines.push(input.overlap.trim(), '');
  if (input.plots.length > 0) {
    lines.push('## Plots', '');
    for (const p of input.plots) lines.push(`### ${p.title}`, '', `![${p.title}](${p.file})`, '');
  }
  lines.push(...setupSection(input), '', ...methodSection());
  return finish(lines);
}

const reportCommand = (outDir: string): string =>
  `npm run experiment -- --report-only${outDir === DEFAULT_OUT ? '' : ` --out ${outDir}`}`;

const finish = (lines: string[]): string => lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
