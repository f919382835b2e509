// Experiment E's question (issue 25): the paper reports HyperCLIP's gain over
// SigLIP to be largest for the smallest image encoders. The three locked
// ImageNet towers are compared under one recipe (E1, E2, E3), so that only
// the tower changes between rows; the shipped recipe on the v2 tower (W4) is
// shown beside them but does not enter the verdict, since its recipe differs.
import { cellStats, medianRate, pairedText } from './cells.js';
import { MODEL_LABEL, type ModelKind } from './plan.js';
import type { RunState } from './runs.js';
import { judgeNoise, MIN_PAIRS, pairedNoise, pairedStandardError, type PairedDifference } from '../../tools/stats.js';
import { markdownTable, percent } from '../../src/eval/format.js';

export interface TowerRow {
  tower: string;
  /** The tower's weights (docs/pretrained.md's import table). */
  weights: number;
  configuration: string;
  /** Whether the row takes part in the verdict on the claim (same recipe as the other towers). */
  judged: boolean;
  /** What the recipe's "last two stages", whose norms the hypernetwork generates, are on this tower. */
  generatedNorms: number;
  generated: string;
}

/** Smallest tower first. */
export const TOWER_ROWS: TowerRow[] = [
  { tower: 'MobileNet v1 0.25, 128 px', weights: 0.47e6, configuration: 'E1', judged: true, generatedNorms: 16, generated: 'blocks 5-12 of 13' },
  { tower: 'MobileNet v1 0.5, 160 px', weights: 1.33e6, configuration: 'E2', judged: true, generatedNorms: 16, generated: 'blocks 5-12 of 13' },
  { tower: 'MobileNet v2 1.0, 160 px', weights: 3.5e6, configuration: 'E3', judged: true, generatedNorms: 4, generated: 'block 16 of 17 and the head convolution' },
  { tower: 'MobileNet v2 1.0, 160 px (shipped recipe)', weights: 3.5e6, configuration: 'W4', judged: false, generatedNorms: 4, generated: 'block 16 of 17 and the head convolution' },
];

/** The metrics the claim is judged on: zero-shot classification, what the paper's claim is about. */
export const TOWER_METRICS = [
  { key: 'cifar10Top1', label: 'CIFAR-10 top-1' },
  { key: 'cifar100Top1', label: 'CIFAR-100 top-1' },
] as const;

export type ClaimVerdict = 'holds, beyond noise' | 'not shown' | 'cannot be judged yet';

export interface ClaimJudgement {
  verdict: ClaimVerdict;
  /** One sentence that gives the reason with its numbers. */
  reason: string;
}

/**
 * The claim holds on a metric when the smallest tower's paired gain is beyond
 * noise and exceeds every larger tower's gain by more than twice the standard
 * error of that difference (the towers' seeds are independent runs, so the
 * two standard errors add in quadrature).
 */
export function judgeClaim(differences: { tower: string; difference: PairedDifference }[]): ClaimJudgement {
  const short = differences.filter((d) => d.difference.n < MIN_PAIRS);
  if (differences.length < 2 || short.length > 0) {
    return {
      verdict: 'cannot be judged yet',
      reason: `a verdict needs ${MIN_PAIRS} seed pairs on each tower; ${short.map((d) => `${d.tower} has ${d.difference.n}`).join(', ') || 'fewer than two towers have runs'}`,
    };
  }
  const [smallest, ...larger] = differences as [typeof differences[0], ...typeof differences];
  const own = pairedNoise(smallest.difference);
  if (own !== 'beyond noise' || smallest.difference.mean <= 0) {
    return { verdict: 'not shown', reason: `on the smallest tower (${smallest.tower}) HyperCLIP's gain is ${percent(smallest.difference.mean, { sign: true })} points, ${own === 'beyond noise' ? 'SigLIP ahead beyond noise' : 'within noise'}` };
  }
  const behind = larger.filter((d) => {
    const error = Math.hypot(pairedStandardError(smallest.difference), pairedStandardError(d.difference));
    return !(smallest.difference.mean - d.difference.mean > 0 && judgeNoise(smallest.difference.mean - d.difference.mean, error) === 'beyond noise');
  });
  if (behind.length > 0) {
    return {
      verdict: 'not shown',
      reason: `the smallest tower's gain (${percent(smallest.difference.mean, { sign: true })} points) is not larger beyond noise than that of ` +
        behind.map((d) => `${d.tower} (${percent(d.difference.mean, { sign: true })})`).join(' and '),
    };
  }
  return { verdict: 'holds, beyond noise', reason: `the smallest tower's gain (${percent(smallest.difference.mean, { sign: true })} points) exceeds every larger tower's by more than twice the standard error of the difference` };
}

const pairWithVerdict = (d: PairedDifference): string => (d.n === 0 ? pairedText(d) : `${pairedText(d)}, ${pairedNoise(d)}`);

/** Trained runs only, as in each configuration's cost table. */
const rate = (runs: RunState[], configuration: string, model: ModelKind): string => {
  const value = medianRate(runs, configuration, model);
  return Number.isFinite(value) ? value.toFixed(1) : '—';
};

/** Whether any of the rows' configurations has an evaluated run: the report's section and its plot exist only then. */
export const hasTowerRuns = (runs: RunState[]): boolean => TOWER_ROWS.some((row) => runs.some((r) => r.configuration === row.configuration && r.eval));

/** The report's section on the tower size; empty without an evaluated run of its configurations. */
export function towerSizeSection(runs: RunState[]): string[] {
  if (!hasTowerRuns(runs)) return [];
  const rows = TOWER_ROWS.map((row) => [
    row.tower, `${(row.weights / 1e6).toFixed(2)}M`, `${row.generated} (${row.generatedNorms} norm layers)`, row.configuration + (row.judged ? '' : ' (not in the verdict)'),
    ...TOWER_METRICS.map((m) => pairWithVerdict(cellStats(runs, row.configuration, m.key).difference)),
    rate(runs, row.configuration, 'hyperclip'), rate(runs, row.configuration, 'siglip'),
  ]);
  const lines = [
    '## Experiment E: HyperCLIP\'s gain against the tower\'s size (issue 25)', '',
    'The paper reports HyperCLIP\'s gain over SigLIP to be largest for the smallest image encoders. E1, E2 and E3 train the three locked ' +
    'ImageNet towers with one recipe, so only the tower changes between them; W4, the shipped recipe on the v2 tower, is shown beside them ' +
    'and left out of the verdict. Each cell: HyperCLIP − SigLIP, mean ± std over paired seeds (pairs), judged against twice its standard error. ' +
    'One thing besides the tower changes with it: the recipe\'s rule, the norms of the last two stages generated, covers most of a v1 tower ' +
    '(blocks 5-12 of 13) but only the end of the v2 tower (block 16 and the head convolution), so HyperCLIP generates a larger share of the smaller ' +
    'towers; `docs/tower-probes.md` measures that lever on v2 (its last five stages: blocks 6-16, about v1\'s share).', '',
    ...markdownTable(['tower', 'weights', 'generated by the hypernetwork', 'configuration', ...TOWER_METRICS.map((m) => `${m.label}, HyperCLIP − SigLIP (points)`),
      `${MODEL_LABEL.hyperclip} img/s (median)`, `${MODEL_LABEL.siglip} img/s (median)`], rows), '',
  ];
  const judged = TOWER_ROWS.filter((row) => row.judged);
  for (const m of TOWER_METRICS) {
    const claim = judgeClaim(judged.map((row) => ({ tower: row.tower, difference: cellStats(runs, row.configuration, m.key).difference })));
    lines.push(`- ${m.label}: the claim **${claim.verdict}**: ${claim.reason}.`);
  }
  return lines;
}
