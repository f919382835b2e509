// The parts of the report that describe how the numbers were made: the
// issue's targets checked against them, the exact setup and commands, and
// the method notes a reader needs to interpret a mean ± std.
import { cellStats } from './cells.js';
import { DEFAULT_CONFIGS, DEFAULT_SEEDS, MODEL_LABEL, MODEL_KINDS, parseConfigurations, parseSeeds } from './plan.js';
import type { ReportInput } from './report.js';
import type { RunState } from './runs.js';
import { resolveConfig } from '../../src/models/config.js';
import { RECIPES } from '../../src/train/recipes.js';
import { markdownTable, percent } from '../../src/eval/format.js';
import { describeHost } from '../../tools/host.js';
import { accuracyError, judgeNoise, MIN_PAIRS, pairedNoise, pairedStandardError } from '../../tools/stats.js';

const plannedRuns = (): number => parseConfigurations(DEFAULT_CONFIGS).length * MODEL_KINDS.length * parseSeeds(DEFAULT_SEEDS).length;
const CIFAR10_TARGET = 0.3;

export function targetsSection(input: ReportInput): string[] {
  const lines = ['## The targets (issue 5)', ''];
  // Issue 5's target is about the paper's setting: towers trained from scratch. Runs on ImageNet-pretrained towers answer another question.
  const fromScratch = new Set(input.configurations.filter((c) => c.pretrainedTower === undefined).map((c) => c.id));
  const hyper = input.runs.filter((r) => r.model === 'hyperclip' && fromScratch.has(r.configuration) && r.eval && r.eval.evalLimit === null);
  const best = hyper.sort((a, b) => b.eval!.cifar10.top1 - a.eval!.cifar10.top1)[0];
  const subject = `CIFAR-10 zero-shot top-1 ≥ ${percent(CIFAR10_TARGET)}% for the best HyperCLIP run trained from scratch`;
  if (best === undefined) lines.push(`- ${subject}: no such HyperCLIP run has been evaluated on the full test set yet.`);
  else {
    const { top1, samples } = best.eval!.cifar10;
    const met = top1 >= CIFAR10_TARGET;
    const standardError = accuracyError(top1, samples);
    lines.push(`- ${subject}: **${met ? 'met' : 'not met'}, ${judgeNoise(top1 - CIFAR10_TARGET, standardError)}** — ` +
      `best is \`${best.name}\` (configuration ${best.configuration}) with ${percent(top1)}% on ${samples} test images (standard error ${percent(standardError)} points; ` +
      'the best of several runs, so if anything an optimistic figure). Configurations on ImageNet-pretrained towers (' +
      `${input.configurations.filter((c) => c.pretrainedTower !== undefined).map((c) => c.id).join(', ') || 'none'}) are left out of this target: their towers learnt from 1.28M labelled images.`);
  }
  for (const c of input.configurations) {
    const cell = cellStats(input.runs, c.id, 'cifar10Top1');
    const { hyperclip: h, siglip: s } = cell.byModel;
    if (h.n === 0 || s.n === 0) {
      lines.push(`- HyperCLIP ahead of SigLIP on mean CIFAR-10 top-1, configuration ${c.id}: not measurable yet (${h.n} and ${s.n} runs evaluated).`);
      continue;
    }
    const d = cell.difference;
    const noise = pairedNoise(d);
    const side = d.mean > 0 ? 'HyperCLIP ahead' : d.mean < 0 ? 'SigLIP ahead' : 'level';
    const answer = noise === 'beyond noise' ? (d.mean > 0 ? 'yes, beyond noise' : 'no: SigLIP ahead, beyond noise') : `${noise} (${side} on the means)`;
    const judged = noise === 'no spread to judge' ? `too few pairs to judge (a verdict needs ${MIN_PAIRS})` : `twice its standard error ${percent(2 * pairedStandardError(d))} points`;
    lines.push(`- HyperCLIP ahead of SigLIP on mean CIFAR-10 top-1, configuration ${c.id}: **${answer}** — ` +
      `${percent(h.mean)}% (n=${h.n}) vs ${percent(s.mean)}% (n=${s.n}), paired difference ${percent(d.mean, { sign: true })} ± ${percent(d.std)} points over ${d.n} seed(s), ` +
      `${judged}.`);
  }
  return lines;
}

function firstWith(runs: RunState[], recipe: string): RunState | undefined {
  return runs.find((r) => r.recipe === recipe && r.trainConfig !== null && r.imageSize !== null) ?? runs.find((r) => r.recipe === recipe && r.trainConfig !== null);
}

function describeData(config: Record<string, unknown>): string {
  const data = (config.data as { dataset: string; weight: number; templates?: string }[] | undefined) ?? [];
  return data.map((d) => `${d.dataset} (weight ${d.weight}${d.templates ? `, ${d.templates} caption templates` : ''})`).join(' + ');
}

function frozenText(freeze: unknown): string {
  return Array.isArray(freeze) && freeze.length > 0 ? freeze.map((p) => `\`${p}\``).join(', ') : 'none';
}

/** A run's recorded config, else the recipe as the code defines it now (no run yet). */
function recipeRow(input: ReportInput, recipe: string): string[] {
  const run = firstWith(input.runs, recipe);
  const t = (run?.trainConfig ?? RECIPES[recipe]) as Record<string, unknown> | undefined;
  if (!t) return [`\`${recipe}\``, 'unknown recipe', '', '', '', '', '', '', ''];
  const imageSize = run?.imageSize ?? resolveConfig(t.model as string).image.imageSize;
  const source = run?.trainConfig ? '' : ' (recipe default; no run yet)';
  // Runs of one recipe may have been started with different --steps: show every value rather than the first.
  const steps = [...new Set(input.runs.filter((r) => r.recipe === recipe && r.plannedSteps !== null).map((r) => r.plannedSteps))];
  const stepText = steps.length > 1 ? `**differs between seeds: ${steps.join(', ')}**` : `${t.steps}`;
  return [`\`${recipe}\`${source}`, `${t.model}`, describeData(t), `${imageSize} px`, stepText, `${t.batchSize}`,
    `${t.lr} (${t.warmupSteps})`, `${t.tokenizer}, ${t.wordPrior ? 'yes' : 'no'}`, frozenText(t.freeze)];
}

function recipeRows(input: ReportInput): string[] {
  const rows = input.configurations.flatMap((c) => MODEL_KINDS.map((m) => recipeRow(input, c.recipes[m])));
  return markdownTable(['recipe', 'model preset', 'training data', 'image size', 'steps', 'batch', 'peak lr (warmup steps)', 'tokenizer, word prior', 'frozen parameters'], rows);
}

function hostLine(runs: RunState[]): string {
  const host = runs.find((r) => r.host !== null)?.host;
  if (!host) return 'Machine: not recorded.';
  return `Machine (recorded at training time): ${describeHost(host)}. ` +
    'Other work shared this CPU during the runs, so throughputs are indicative.';
}

export function setupSection(input: ReportInput): string[] {
  const seeds = input.seeds.join(',');
  const evalRun = input.runs.find((r) => r.eval !== null)?.eval;
  return [
    '## Setup', '',
    `Seeds: ${seeds}. Seed s fixes the initial weights and the data order; the HyperCLIP and SigLIP runs with the same seed see the same batches, which is why differences are paired by seed.`, '',
    ...recipeRows(input), '',
    'Data (../shared/data, WebDataset shards; see its README): Flickr8k train 6000 images × 5 captions (128×128 JPEG), val and test 1000 images each; ' +
    'CIFAR-10 test 10,000 images (32×32); CIFAR-100 train 44,962 / test 15,038 images (32×32) — a random 75/25 re-split of all 60,000, not the official split. ' +
    'Every image is resized to the model\'s input size (table above).', '',
    `Evaluation: zero-shot CIFAR-10 and CIFAR-100 test with the CLIP prompt templates from shared/data/prompts${evalRun?.cifar10.templates ? ` (${evalRun.cifar10.templates} and ${evalRun.cifar100.templates} templates)` : ''}, ` +
    'class embeddings averaged over templates, HyperCLIP conditioned on the evaluated class set; Flickr8k test image↔text retrieval, R@1/5/10 both ways.', '',
    hostLine(input.runs), '',
    '## Commands', '',
    '```sh',
    `# the whole experiment (configurations ${DEFAULT_CONFIGS} × ${MODEL_KINDS.length} models × seeds ${DEFAULT_SEEDS}: trains ${plannedRuns()} runs, evaluates them, writes this file); rerun to resume after a stop`,
    'npm run experiment',
    '# only rebuild this report and its plots from the run folders',
    'npm run experiment -- --report-only',
    '# one run by hand, equivalent to what the experiment does for it',
    `hyperclip train --preset tiny-hyperclip --seed 0 --out ${input.outDir}/tiny-hyperclip-s0`,
    `hyperclip eval --model ${input.outDir}/tiny-hyperclip-s0/model --dataset cifar10`,
    `hyperclip eval --model ${input.outDir}/tiny-hyperclip-s0/model --dataset cifar100`,
    `hyperclip eval --model ${input.outDir}/tiny-hyperclip-s0/model --dataset flickr8k`,
    '```', '',
    input.lastCommand ? `Last invocation that trained or evaluated: \`${input.lastCommand}\`.` : 'No invocation recorded yet.',
  ];
}

export function methodSection(): string[] {
  return [
    '## How to read the numbers', '',
    '- Percentages are accuracies (top-1/top-5) or recalls (R@k) in percent; differences are in percentage points.',
    '- ± is the sample standard deviation over seeds (n − 1 in the denominator); n is the number of seeds evaluated. With n < 2 there is no spread (n/a).',
    '- "HyperCLIP − SigLIP, paired" is computed per seed and then summarised: its ± is the standard deviation of the per-seed differences, which removes the variation the two models share through the seed (data order).',
    '- "Standard error" in the sentences is that std / √n; "more than twice its standard error" is a rough consistency rule for 3 seeds, not a significance test.',
    `- ${MODEL_LABEL.hyperclip} retrieval: the image encoder is conditioned once on the set of first captions of all gallery images (src/eval/retrieval.ts); ${MODEL_LABEL.siglip} has no conditioning.`,
    '- Throughput is the median of the img/s logged every 10 steps (robust to validation pauses and resumes), on a shared CPU.',
  ];
}

