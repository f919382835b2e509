// docs/tower-probes.md from the probes' run folders and the baseline's: each
// probe's validation figures at its last step against E3's HyperCLIP seeds,
// judged by the baseline's seed spread, and its training cost.
import path from 'node:path';
import { markdownTable, percent } from '../../src/eval/format.js';
import { judgeNoise, median, MIN_PAIRS, spread, type NoiseVerdict } from '../../tools/stats.js';
import { latestSideBySide, RECORD, type SideBySide, type TrainRecord } from '../../bench/lib/train-compare.js';
import { readRecords } from '../../bench/lib/records.js';
import { readRunFolder, type RunFolder } from '../hyperclip-vs-siglip/runs.js';
import { BASELINE_IMAGE_SIZE, BASELINE_RECIPE, PROBES, probeRunName, type Probe } from './plan.js';

/** The validation figures compared; the first two decide, retrieval is shown beside them. */
export const FIGURES = [
  { key: 'tinyImagenetTop1', label: 'Tiny ImageNet val top-1', judged: true },
  { key: 'heldOutTop1', label: 'held-out names top-1', judged: true },
  { key: 'imageToTextR1', label: 'Flickr8k val R@1 i→t', judged: false },
  { key: 'textToImageR1', label: 'Flickr8k val R@1 t→i', judged: false },
] as const;
type FigureKey = typeof FIGURES[number]['key'];

export interface NamedRun extends RunFolder { name: string }

export interface ProbeReportInput {
  generatedAt: string;
  command: string;
  baselineOut: string;
  outDir: string;
  seeds: number[];
  baseline: NamedRun[];
  probes: { probe: Probe; runs: NamedRun[] }[];
  /** Each probe's last side-by-side timing against the baseline recipe (bench:train --record), by probe recipe. */
  sideBySide: Record<string, SideBySide | null>;
}

/** The bench:train command that times a probe beside the baseline and records it. */
export const sideBySideCommand = (probe: Probe): string => `npm run bench:train -- --recipes ${probe.recipe},${BASELINE_RECIPE} --steps-per-round 1 --record`;

/** Finished and validated at its last step: a run still training, or one whose last validation is older, is not compared. */
export const isComplete = (r: RunFolder): boolean =>
  (r.status === 'trained' || r.status === 'evaluated') && r.lastValidation !== null && r.lastValidation.step === r.plannedSteps;

export function readProbeInput(outDir: string, baselineOut: string, seeds: number[], command: string, baselineSeeds = [0, 1, 2], benchRecords: TrainRecord[] = readRecords<TrainRecord>(RECORD)): ProbeReportInput {
  const read = (dir: string, name: string): NamedRun => ({ name, ...readRunFolder(path.join(dir, name)) });
  return {
    generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), command, baselineOut, outDir, seeds,
    baseline: baselineSeeds.map((s) => read(baselineOut, probeRunName(BASELINE_RECIPE, s))),
    probes: PROBES.map((probe) => ({ probe, runs: seeds.map((s) => read(outDir, probeRunName(probe.recipe, s))) })),
    sideBySide: Object.fromEntries(PROBES.map((probe) => [probe.recipe, latestSideBySide(benchRecords, probe.recipe, BASELINE_RECIPE)])),
  };
}

export interface Comparison { probe: number; baseline: number; difference: number; standardError: number; verdict: NoiseVerdict }

/**
 * A probe's mean against the baseline's: unpaired, with the baseline's seed
 * spread standing for both (a one-seed probe has none of its own), so the
 * standard error is s · √(1/n_baseline + 1/n_probe); fewer than MIN_PAIRS
 * baseline seeds: no spread to judge.
 */
export function compare(probeValues: number[], baselineValues: number[]): Comparison {
  const p = spread(probeValues), b = spread(baselineValues);
  const standardError = b.n >= MIN_PAIRS && p.n > 0 ? b.std * Math.sqrt(1 / b.n + 1 / p.n) : NaN;
  const difference = p.mean - b.mean;
  return { probe: p.mean, baseline: b.mean, difference, standardError, verdict: judgeNoise(difference, standardError) };
}

const values = (runs: NamedRun[], key: FigureKey): number[] => runs.filter(isComplete).map((r) => r.lastValidation![key] ?? NaN);

/**
 * Training CPU-hours: the images trained on over the median logged rate, times
 * the host's cores. The rate excludes validation and any pause (a run stopped
 * with SIGSTOP for other work, or resumed after a kill), which wall time would not.
 */
export function cpuHours(r: RunFolder): number {
  const steps = r.trainConfig?.steps, batch = r.trainConfig?.batchSize;
  if (typeof steps !== 'number' || typeof batch !== 'number' || r.host === null) return NaN;
  return (steps * batch / r.imagesPerSecond) * r.host.cpus / 3600;
}

const rates = (runs: NamedRun[]): number[] => runs.filter(isComplete).map((r) => r.imagesPerSecond);

/** A probe with every figure compared to the baseline once, and its side-by-side timing. */
interface JudgedProbe {
  probe: Probe;
  runs: NamedRun[];
  /** One per FIGURES entry, in its order. */
  comparisons: Comparison[];
  timed: SideBySide | null;
}

function judgeProbes(input: ProbeReportInput): JudgedProbe[] {
  return input.probes.map(({ probe, runs }) => ({
    probe, runs,
    comparisons: FIGURES.map((f) => compare(values(runs, f.key), values(input.baseline, f.key))),
    timed: input.sideBySide[probe.recipe] ?? null,
  }));
}

const judgedOnly = (j: JudgedProbe) => FIGURES.flatMap((f, i) => f.judged ? [{ figure: f, c: j.comparisons[i]! }] : []);
const shownOnly = (j: JudgedProbe) => FIGURES.flatMap((f, i) => f.judged ? [] : [{ figure: f, c: j.comparisons[i]! }]);

const cell = (c: Comparison): string =>
  !Number.isFinite(c.probe) ? '—' : `${percent(c.probe)} (${percent(c.difference, { sign: true })}, ${c.verdict})`;

/** The probe's side-by-side rate over the baseline's, with its interval: "1.31× (1.22–1.40)". */
const sideBySideCell = (t: SideBySide | null): string => t === null ? '—' : `${t.ratio.toFixed(2)}× (${t.low.toFixed(2)}–${t.high.toFixed(2)})`;

/**
 * A probe's training CPU-hours: the baseline's median over its side-by-side
 * rate ratio, which one run on the same threads and data measured; a probe
 * not timed side by side shows its own in-run figure, marked as such.
 */
function probeCpuHours(j: JudgedProbe, baselineHours: number): string {
  if (j.timed !== null && Number.isFinite(baselineHours)) return (baselineHours / j.timed.ratio).toFixed(2);
  const own = spread(j.runs.filter(isComplete).map(cpuHours));
  return own.n > 0 ? `${own.mean.toFixed(2)} (in-run)` : '—';
}

const baselineCpuHours = (baseline: NamedRun[]): number => median(baseline.filter(isComplete).map(cpuHours));

function probeRow(j: JudgedProbe, baseline: NamedRun[], baselineHours: number): (string | number)[] {
  const rate = median(rates(j.runs));
  const baseRate = median(rates(baseline));
  return [
    `\`${j.probe.recipe.slice(BASELINE_RECIPE.length + 1)}\``, j.probe.lever, ...j.comparisons.map(cell),
    Number.isFinite(rate) ? `${rate.toFixed(1)} (${Number.isFinite(baseRate) ? `${(rate / baseRate).toFixed(2)}×` : '—'})` : '—',
    sideBySideCell(j.timed), probeCpuHours(j, baselineHours), j.runs.filter(isComplete).length,
  ];
}

function baselineRow(baseline: NamedRun[]): (string | number)[] {
  const done = baseline.filter(isComplete);
  const hours = baselineCpuHours(baseline);
  const rate = median(rates(baseline));
  return ['baseline (E3)', `${BASELINE_IMAGE_SIZE} px, the last two stages generated, locked (figures: mean over seeds; img/s and CPU-h: median)`,
    ...FIGURES.map((f) => percent(spread(values(baseline, f.key)).mean)),
    Number.isFinite(rate) ? `${rate.toFixed(1)} (1.00×)` : '—', '1.00×', Number.isFinite(hours) ? hours.toFixed(2) : '—', done.length];
}

/**
 * The best resolution per CPU-hour: among the smaller resolutions that lose to
 * 160 px beyond noise on neither Tiny ImageNet val nor the held-out names, the
 * one that trains fastest beside 160 px in one bench:train run, when the 95%
 * interval of its rate ratio lies above 1; 160 px when none does.
 * (History: first "the smallest resolution that keeps its accuracy", assuming
 * smaller is cheaper; then, after 128 px trained no faster, "faster beyond the
 * noise of the baseline runs' rates", which compared runs made on different
 * days; now the side-by-side ratio, chosen before any was measured.)
 */
export function resolutionVerdict(input: ProbeReportInput, probes: JudgedProbe[] = judgeProbes(input)): string {
  const judged = probes.filter((j) => j.probe.question === 'resolution').map((j) => ({
    probe: j.probe, size: Number(/px(\d+)$/.exec(j.probe.recipe)![1]),
    comparisons: judgedOnly(j), shownOnly: shownOnly(j), timed: j.timed,
  })).sort((a, b) => a.size - b.size);
  if (judged.some((j) => j.comparisons.some(({ c }) => c.verdict === 'no spread to judge'))) {
    return `**Not judged yet**: a resolution probe has not finished, or the baseline has fewer than ${MIN_PAIRS} finished seeds.`;
  }
  const accurate = judged.filter((j) => j.comparisons.every(({ c }) => !(c.verdict === 'beyond noise' && c.difference < 0)));
  const describe = (j: typeof judged[number]) => `${j.size} px: ${j.comparisons.map(({ figure, c }) => `${figure.label} ${percent(c.difference, { sign: true })} points, ${c.verdict}`).join('; ')}; ` +
    (j.timed === null ? 'not timed side by side' : `${sideBySideCell(j.timed)} the rate of ${BASELINE_IMAGE_SIZE} px side by side (${j.timed.rounds} rounds, ${j.timed.date.slice(0, 10)}${j.timed.records > 1 ? `; the last of ${j.timed.records} records of this pair` : ''})`) +
    j.shownOnly.filter(({ c }) => c.verdict === 'beyond noise' && c.difference < 0).map(({ figure, c }) => `; ${figure.label} ${percent(c.difference, { sign: true })} points, beyond noise (shown, not in the rule)`).join('');
  const all = judged.map(describe).join('. ');
  const untimed = accurate.filter((j) => j.timed === null);
  if (untimed.length > 0) {
    return `**Not judged yet**: ${untimed.map((j) => `${j.size} px`).join(' and ')} keep${untimed.length === 1 ? 's' : ''} the accuracy within noise but ` +
      `${untimed.length === 1 ? 'has' : 'have'} not been timed beside ${BASELINE_IMAGE_SIZE} px: run ${untimed.map((j) => `\`${sideBySideCommand(j.probe)}\``).join(' and ')} (${all}).`;
  }
  const faster = accurate.filter((j) => j.timed!.low > 1).sort((a, b) => b.timed!.ratio - a.timed!.ratio);
  if (faster.length > 0) return `**${faster[0]!.size} px**: it keeps ${BASELINE_IMAGE_SIZE} px's accuracy within noise and trains faster beside it, the whole 95% interval above 1 (${all}).`;
  return `**${BASELINE_IMAGE_SIZE} px**: no smaller resolution both keeps its accuracy within noise and trains faster beside it with its whole 95% interval above 1 (${all}).`;
}

function leverVerdicts(probes: JudgedProbe[], question: 'generated stages' | 'locked or tuned'): string[] {
  return probes.filter((j) => j.probe.question === question).map((j) => {
    const parts = judgedOnly(j).map(({ figure, c }) => `${figure.label} ${Number.isFinite(c.difference) ? `${percent(c.difference, { sign: true })} points` : 'not measured'} (${c.verdict})`);
    return `- \`${j.probe.recipe}\`: ${parts.join('; ')}; ${j.timed === null ? 'not timed side by side' : `${sideBySideCell(j.timed)} the baseline's rate side by side`}.`;
  });
}

function statusLines(input: ProbeReportInput): string[] {
  const all = [...input.baseline.map((r) => ({ r, role: 'baseline' })), ...input.probes.flatMap((p) => p.runs.map((r) => ({ r, role: 'probe' })))];
  const pending = all.filter(({ r }) => !isComplete(r));
  if (pending.length === 0) return ['Every planned run is finished and validated at its last step.'];
  return ['Not finished — left out of every figure below:', '',
    ...pending.map(({ r, role }) => `- \`${r.name}\` (${role}): ${r.status === 'missing' ? 'not started' : `${r.status}, logged to step ${r.loggedSteps} of ${r.plannedSteps ?? '?'}`}`)];
}

export function buildProbeReport(input: ProbeReportInput): string {
  const judged = judgeProbes(input);
  const baselineHours = baselineCpuHours(input.baseline);
  const base = input.baseline.filter(isComplete);
  const baseLine = FIGURES.map((f) => {
    const s = spread(values(input.baseline, f.key));
    return `${f.label} ${percent(s.mean)} ± ${percent(s.std)}`;
  }).join('; ');
  const lines = [
    '# Probes of the recipe on a locked tower: resolution, generated stages, locked or tuned', '',
    `_Generated ${input.generatedAt} from the run folders in \`${input.outDir}\` and \`${input.baselineOut}\` by \`${input.command}\`. Do not edit by hand: rerun the command._`, '',
    `Issue 25 asks three things of the recipe on an ImageNet-pretrained tower to be measured: the resolution with the best accuracy per CPU-hour (96 / 128 / 160 px), ` +
    'how many stages\' norms the hypernetwork should generate, and whether the generated stages should stay locked or be tuned slowly. ' +
    `Each probe is E3's HyperCLIP recipe (\`${BASELINE_RECIPE}\`: MobileNet v2 1.0 at ${BASELINE_IMAGE_SIZE} px, locked, the norms of its last two stages generated — block 16 and the head convolution, ` +
    '4 norm layers —, 350 steps of 128) with one lever changed, trained with seed 0 (`src/train/recipes.ts`).', '',
    '**Figures.** Validation only, at the last step, as training\'s validation computes them: Tiny ImageNet val zero-shot among its 202 classes and among the 40 held-out names ' +
    '(1000 seeded val images each; the held-out names never enter training), Flickr8k val retrieval (1000 images). No test set and no target task is read. ' +
    `**Noise.** A probe has one seed; the baseline's ${base.length} seeds (${base.map((r) => `\`${r.name}\``).join(', ') || 'none yet'}) give the spread: ` +
    `a difference is beyond noise when it exceeds twice s · √(1/n_baseline + 1/n_probe), s the baseline's seed standard deviation (three seeds estimate s loosely). ` +
    '**Cost.** img/s is the median of the 10-step log windows (ratio to the baseline\'s median run), a wall-clock figure on a shared 2-core machine: the baseline runs were trained on other days, one of them beside other jobs. ' +
    'The baseline\'s training CPU-hours are the images trained on ÷ that rate × the host\'s cores (validation and pauses left out; the median over its seeds); a probe\'s are the baseline\'s ÷ its side-by-side rate ratio, or, marked "(in-run)", its own in-run figure where it was not timed side by side. ' +
    `**Side by side** is the fair cost figure: \`${sideBySideCommand(PROBES.find((p) => p.question === 'resolution')!)}\` (the probe, then the baseline recipe) steps both recipes in alternating rounds on the same threads and data ` +
    '(each with its own loader), and the column gives the median of the per-round rate ratios with its bootstrap 95% interval, from the last such record in `runs/bench/train.jsonl`.', '',
    '## Status', '', ...statusLines(input), '',
    '## Results', '', `Baseline (mean ± seed std over ${base.length}): ${base.length > 0 ? baseLine : 'no finished run'}.`, '',
    ...markdownTable(['probe', 'lever', ...FIGURES.map((f) => `${f.label} (difference, verdict)`), 'img/s in training (× baseline)', 'rate × baseline side by side (95% interval)', 'training CPU-h (baseline ÷ side-by-side rate)', 'runs'],
      [baselineRow(input.baseline), ...judged.map((j) => probeRow(j, input.baseline, baselineHours))]), '',
    '## Verdicts', '',
    `**Resolution** (rule: among the smaller resolutions whose Tiny ImageNet val and held-out top-1 each stay within noise of ${BASELINE_IMAGE_SIZE} px or above it, ` +
    `the one that trains fastest beside ${BASELINE_IMAGE_SIZE} px in one \`bench:train\` run, the 95% interval of its rate ratio above 1; else ${BASELINE_IMAGE_SIZE} px): ${resolutionVerdict(input, judged)}`, '',
    '**Generated stages** (against the last two):', '', ...leverVerdicts(judged, 'generated stages'), '',
    '**Locked or tuned** (against locked):', '', ...leverVerdicts(judged, 'locked or tuned'), '',
    'A probe within noise of the baseline says the lever, at this budget and this seed spread, changes nothing measurable; it does not say the lever does nothing.',
  ];
  return lines.join('\n') + '\n';
}
