// docs/compression.md from the compression experiment's record (assembled
// from the results committed in runs/compression/records/<model>-<budgets>/,
// experiments/compression/store.ts): the setting read from the
// recorded configs and host, every table from the recorded results, each
// target judged by the reports' one noise rule. Without a record it says
// so, and lists the settings the command would use, labelled as such.
import { CORRUPTION_NAMES } from '../../src/eval/corruptions/corruptions.js';
import { COMPRESS_METHODS, type CompressConfig, type CompressMethod } from '../../src/compress/adasap-recipe.js';
import type { CompressSummary } from '../../src/compress/adasap.js';
import { markdownTable, percent } from '../../src/eval/format.js';
import { describeHost, describeLoad, type Host } from '../../tools/host.js';
import { accuracyDifferenceError, accuracyError, judgeNoise, MIN_PAIRS, pairedDifference, pairedStandardError, spread } from '../../tools/stats.js';
import { medianStandardError, type Timing } from '../../tools/timing.js';

export interface CompressionSettings {
  methods: CompressMethod[];
  seeds: number[];
  ratios: number[];
  stepsWarmup: number;
  stepsFinetune: number;
  batchSize: number;
  limit: number;
  severities: number[];
  latencyRounds: [number, number];
}

export interface EvalRecord { samples: number; clean: number; meanCorrupted: number; perCorruption: { corruption: string; top1: number }[] }
export interface DeploymentRecord { kb: number; batch1: Timing; batch64: Timing }
/** deploy: the compressed classifier's timing; denseDeploy: the dense classifier's, timed in the same interleaved rounds right after. */
export interface CompressedRun { method: CompressMethod; ratio: number; seed: number; config: CompressConfig; summary: CompressSummary; eval: EvalRecord; deploy: DeploymentRecord; denseDeploy: DeploymentRecord }

export interface CompressionRecord {
  command: string;
  finished: string;
  model: string;
  /** sha256 of the model's weights, first 12 hex digits. */
  modelKey: string;
  settings: CompressionSettings;
  host: Host;
  loadAverageAtEnd: number[];
  /** The folder of runs/compression/records/ that holds the stored results this record was assembled from. */
  folder: string;
  /** deploy: the dense classifier's timings pooled over every run's rounds (null before any run). */
  dense: { macs: number; params: number; eval: EvalRecord; deploy: DeploymentRecord | null };
  runs: CompressedRun[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanSd = (xs: number[]) => { const s = spread(xs); return `${percent(s.mean)}${s.n > 1 ? ` ± ${percent(s.std)}` : ''}`; };
const ms = (seconds: number, digits: number) => (1000 * seconds).toFixed(digits);

/** The command that rebuilds this page from the record, and the one that measures it. */
export function commands(model: string, s: CompressionSettings): { run: string; report: string } {
  const methods = COMPRESS_METHODS.every((m) => s.methods.includes(m)) ? [] : ['--methods', s.methods.join(',')];
  const run = ['npm run experiment:compression --', '--model', model, ...methods, '--seeds', s.seeds.join(','), '--ratios', s.ratios.join(','),
    '--steps-warmup', String(s.stepsWarmup), '--steps-finetune', String(s.stepsFinetune), '--batch-size', String(s.batchSize), '--limit', String(s.limit),
    '--severities', s.severities.join(','), '--latency-rounds', s.latencyRounds.join(',')].join(' ');
  return { run, report: `${run} --report-only` };
}

/** The methods, each with the hyperparameters of its recorded config. */
function methodLines(configs: Partial<Record<CompressMethod, CompressConfig>>, s: CompressionSettings): string[] {
  const c = configs.adasap ?? configs.sam ?? configs['prune-finetune']!;
  const lines = [];
  if (configs.adasap) {
    const a = configs.adasap;
    lines.push(`- **adasap**: ${a.warmupSteps} warm-up steps of SAM whose radius per channel runs from ${a.rhoMax} (least important in its group by ${a.saliency} saliency) ` +
      `down to ${a.rhoMin} (most important), radii refreshed every ${a.radiusRefreshSteps} steps; prune; ${a.finetuneSteps} steps of ASAM (rho ${a.asamRho}, eta ${a.asamEta}).`);
  }
  if (configs.sam) lines.push(`- **sam**: the same steps with plain SAM (rho ${configs.sam.rho}) in both phases.`);
  if (configs['prune-finetune']) lines.push('- **prune-finetune**: the same steps without any perturbation.');
  lines.push(
    `- Every phase: AdamW at peak lr ${c.lr} (${c.lrWarmupSteps}-step warm-up, cosine down to ${c.minLrRatio} of it), batch ${c.batchSize}, on the model's own pre-training loss ` +
    '(its recipe\'s objective: the contrastive loss with the recipe\'s positives, plus the pretrained head\'s distillation where the recipe has one; both SAM passes of a step ' +
    'see the same batch and distillation task) and training mixture (its recipe\'s data, tokenizer, weight decay and gradient clip). The warm-up does not depend on the ' +
    'target, so one warm-up per method and seed serves every ratio; the fine-tune data order is the same for every method.',
    '- What trains: the image side. The image encoder from its first prunable block on (every pruned convolution and its norm, ' +
    'the blocks between and the head conv), also where the recipe locks the encoder (LiT): otherwise the layers that pruning cuts could not recover; ' +
    'and what the recipe trains besides the text encoder (the hypernetwork, the image projection, the logit scale and bias). ' +
    'The text encoder stays as trained: it is not what is compressed, and frozen, its embeddings of a batch\'s captions and task prompts are computed once for both of SAM\'s passes ' +
    '(the text encoder\'s forward and backward at each pass had been most of a step). ' +
    'The stem and the blocks before the first prunable one (pruning never touches them) stay frozen where the recipe freezes them; they run once per batch ' +
    'without gradients, and the distillation teacher continues from their output. ' +
    'No feature cache is read (a cache of the recipe\'s frozen prefix would hold features of layers that pruning changes). ' +
    'With distillation, the blocks from the prefix to the first generated norm run once per pass and both losses continue from their output (the same values and gradients as running them for each loss; `npm run bench:compress-step` times the two).',
    `- Pruning: expanded (inner) channels of every MBConv block with an expansion conv, and the head conv's channels, in units of ${c.granularity}, ` +
    `at least ${percent(c.minKeepFraction, { digits: 0, unit: true })} of each group kept; price of a unit = its ${c.saliency} saliency ${(c.saliencyScale ?? 'group') === 'group' ? '(normalised by the group\'s mean)' : '(as it is: a Taylor score estimates the loss change, comparable across layers)'} per multiply-add it saves. ` +
    'The hypernetwork\'s output rows of removed norm channels go with them. ' +
    ((c.calibrationImages ?? 0) > 0 // configs recorded before these settings existed: group scale, no reconstruction
      ? `Then, block by block on the pruned model's own inputs, each block's project conv (and the image projection after the head) is solved by least squares to reproduce the dense model's output on ${c.calibrationImages} training images (src/compress/reconstruct.ts; docs/prune-recovery.md measures on validation what a pruned model keeps with and without it, ` +
        'and under either saliency scale). All three methods share this step.'
      : 'No reconstruction after pruning.'),
    `- Evaluation: CIFAR-10 test, the first ${s.limit} images of the seeded shuffle \`hyperclip eval --limit\` reads, zero-shot with the CLIP templates; ` +
    `corrupted: ${CORRUPTION_NAMES.length} corruptions (${CORRUPTION_NAMES.join(', ')}) at severities ${s.severities.join(',')}, applied at the native 32 px before the evaluation preprocessing, corruption seed 0.`,
    '- FLOPs are multiply-adds of the convolutions and the image projection at the model\'s resolution and its feature-map sizes (TensorFlow SAME padding where the encoder has it; src/compress/flops.ts); parameters are those layers\' weights. ' +
    `Latency: the generated 10-class CIFAR-10 classifier (ONNX, norms folded) in onnxruntime-node, median of ${s.latencyRounds[0]} rounds at batch 1 and ${s.latencyRounds[1]} at batch 64; ` +
    'each compressed classifier is timed right after its evaluation in rounds interleaved with the dense classifier, so machine load hits both alike and each speed-up is a ratio of one run\'s two medians. ' +
    'These times hold for that setting, two onnxruntime sessions open in one process, which slow each other on few cores: timed with its session alone, a classifier runs faster, the dense one most, and its speed-up follows its multiply-adds at both batch sizes (docs/compression-profile.md).',
    `- Seeds: ${s.seeds.join(',')}; figures are mean ± sample standard deviation over seeds.`,
    '- Noise: the reports\' one rule, a difference is beyond noise when it is more than twice its standard error: for accuracies, of the seed-paired difference ' +
    `(with one seed, of two accuracies on ${s.limit} images); for a speed-up against its target, of the mean of the runs' speed-ups (with fewer than ${MIN_PAIRS} runs, of one run's ratio of two medians, from their interquartile ranges).`,
  );
  return lines;
}

/** Issue 29's targets: AdaSAP's mean corrupted top-1 at least `margin` above the baseline (paired over seeds), and the classifier at least `goal` times faster than dense. */
export const ACCURACY_TARGET = { ratio: 0.5, baseline: 'prune-finetune', margin: 0.01 } as const;
export const SPEED_TARGET = { ratio: 0.5, goal: 1.6 } as const;

interface BaselineComparison { method: CompressMethod; adasap: number; baseline: number; difference: number; standardError: number; pairs: number }

/** AdaSAP's mean corrupted top-1 minus one baseline's at one ratio: paired over seeds with enough pairs, else the unpaired means with the test set's sampling error. */
function compareWithBaseline(runs: CompressedRun[], ratio: number, limit: number, method: CompressMethod): BaselineComparison | null {
  const bySeed = (m: CompressMethod) => new Map(runs.filter((r) => r.method === m && r.ratio === ratio).map((r) => [r.seed, r.eval.meanCorrupted]));
  const ada = bySeed('adasap'), other = bySeed(method);
  if (ada.size === 0 || other.size === 0) return null;
  const d = pairedDifference(ada, other);
  const a = mean([...ada.values()]), b = mean([...other.values()]);
  const paired = d.n >= MIN_PAIRS;
  return { method, adasap: a, baseline: b, difference: paired ? d.mean : a - b, standardError: paired ? pairedStandardError(d) : accuracyDifferenceError(a, b, limit), pairs: d.n };
}

const errorNote = (c: BaselineComparison) => c.pairs >= MIN_PAIRS
  ? `paired standard error ${percent(c.standardError)} over ${c.pairs} seeds`
  : `standard error ${percent(c.standardError)} from the test set's sampling, with fewer than ${MIN_PAIRS} seed pairs`;

/** The accuracy target: met when the difference reaches the margin; beyond noise when its distance from the margin exceeds twice its standard error. */
function accuracyTarget(runs: CompressedRun[], limit: number): string | null {
  const { ratio, baseline, margin } = ACCURACY_TARGET;
  const ada = runs.filter((r) => r.method === 'adasap' && r.ratio === ratio);
  if (ada.length === 0) return null;
  const head = `- Accuracy at FLOPs ${ratio}, target AdaSAP's mean corrupted top-1 at least ${margin * 100} point${margin === 0.01 ? '' : 's'} above ${baseline}'s, paired over seeds: `;
  const c = compareWithBaseline(runs, ratio, limit, baseline);
  if (c === null) return `${head}AdaSAP ${percent(mean(ada.map((r) => r.eval.meanCorrupted)))}%; **not established**: no ${baseline} result yet.`;
  const gap = c.difference - margin;
  const noise = judgeNoise(gap, c.standardError);
  const verdict = gap >= 0 ? (noise === 'beyond noise' ? 'met, beyond noise' : 'met on the means, within noise')
    : `missed by ${percent(-gap)} points, ${noise}`;
  return `${head}AdaSAP ${percent(c.adasap)}% vs ${baseline} ${percent(c.baseline)}%, difference ${percent(c.difference, { sign: true })} points (${errorNote(c)}): **${verdict}**.`;
}

/** AdaSAP against every baseline at one ratio, as a difference from zero (information beside the target). */
function baselineComparisons(runs: CompressedRun[], ratio: number, limit: number, methods: CompressMethod[]): string | null {
  if (!runs.some((r) => r.method === 'adasap' && r.ratio === ratio)) return null;
  const baselines = methods.filter((m) => m !== 'adasap');
  const compared = baselines.map((m) => compareWithBaseline(runs, ratio, limit, m)).filter((c): c is BaselineComparison => c !== null);
  const absent = baselines.filter((m) => !compared.some((c) => c.method === m));
  const missing = absent.length > 0 ? `no ${absent.join(', ')} result yet` : '';
  if (compared.length === 0) return `- FLOPs ${ratio}: ${missing} to compare AdaSAP with.`;
  return `- FLOPs ${ratio}, AdaSAP's mean corrupted top-1 minus each baseline's: ` + compared.map((c) =>
    `${percent(c.difference, { sign: true })} points vs ${c.method} (${percent(c.adasap)}% vs ${percent(c.baseline)}%; ${errorNote(c)}; ${judgeNoise(c.difference, c.standardError)})`).join('; ') +
    (missing === '' ? '' : `; ${missing}`) + '.';
}

export function pooledTiming(timings: Timing[]): Timing {
  // Medians of classifiers of one ratio: their median, and the widest interquartile range (conservative).
  const median = [...timings.map((t) => t.median)].sort((a, b) => a - b)[Math.floor(timings.length / 2)]!;
  const widest = timings.reduce((w, t) => (t.q3 - t.q1 > w.q3 - w.q1 ? t : w));
  return { median, q1: median - (widest.median - widest.q1), q3: median + (widest.q3 - widest.median), n: Math.min(...timings.map((t) => t.n)) };
}

/** One run's speed-up: the dense classifier's median over the compressed one's, both from the same interleaved rounds. */
export const speedUp = (r: CompressedRun, key: 'batch1' | 'batch64') => r.denseDeploy[key].median / r.deploy[key].median;

function speedTarget(record: CompressionRecord, ratio: number, goal: number): string | null {
  const mine = record.runs.filter((r) => r.ratio === ratio);
  if (mine.length === 0) return null;
  const parts = (['batch1', 'batch64'] as const).map((key) => {
    const ratios = mine.map((r) => speedUp(r, key));
    const mid = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    // Against the goal: with enough runs, the spread of their paired speed-ups; else one run's two medians' standard errors carried into its ratio.
    const one = mine[0]!, d = one.denseDeploy[key], p = one.deploy[key];
    const se = ratios.length >= MIN_PAIRS ? spread(ratios).std / Math.sqrt(ratios.length)
      : (d.median / p.median) * Math.hypot(medianStandardError(d) / d.median, medianStandardError(p) / p.median);
    return { batch: key === 'batch1' ? 1 : 64, speedUp: mid, met: mid >= goal, noise: judgeNoise(mid - goal, se) };
  });
  return `- Speed at FLOPs ${ratio} (mean over the ${mine.length} classifiers of that ratio of each one's speed-up over the dense classifier timed beside it), target ${goal}x: ` +
    parts.map((p) => `batch ${p.batch}: ${p.speedUp.toFixed(2)}x, **${p.met ? 'met' : 'missed'}, ${p.noise}**`).join('; ') + '.';
}

function resultRows(record: CompressionRecord): string[] {
  const rows: (string | number)[][] = [];
  for (const ratio of record.settings.ratios) {
    for (const method of COMPRESS_METHODS) {
      const rs = record.runs.filter((r) => r.method === method && r.ratio === ratio);
      if (rs.length === 0) continue;
      const b1 = pooledTiming(rs.map((r) => r.deploy.batch1)).median, b64 = pooledTiming(rs.map((r) => r.deploy.batch64)).median;
      rows.push([ratio, method, rs.length, meanSd(rs.map((r) => r.eval.clean)), meanSd(rs.map((r) => r.eval.meanCorrupted)),
        (mean(rs.map((r) => r.summary.macs)) / 1e6).toFixed(2), (mean(rs.map((r) => r.summary.params)) / 1e3).toFixed(0),
        mean(rs.map((r) => r.deploy.kb)).toFixed(0), ms(b1, 2), ms(b64, 1),
        `${mean(rs.map((r) => speedUp(r, 'batch1'))).toFixed(2)}x / ${mean(rs.map((r) => speedUp(r, 'batch64'))).toFixed(2)}x`]);
    }
  }
  return markdownTable(['FLOPs target', 'method', 'seeds', 'clean top-1 %', 'mean corrupted top-1 %', 'FLOPs (M)', 'params (k)', 'classifier KB', 'batch 1 ms', 'batch 64 ms', 'speed-up b1 / b64'], rows);
}

function perCorruptionRows(record: CompressionRecord): string[] {
  const top1 = (e: EvalRecord, c: string) => e.perCorruption.find((p) => p.corruption === c)?.top1 ?? NaN;
  const rows: (string | number)[][] = [[1, 'dense', ...CORRUPTION_NAMES.map((c) => percent(top1(record.dense.eval, c)))]];
  for (const ratio of record.settings.ratios) {
    for (const method of COMPRESS_METHODS) {
      const rs = record.runs.filter((r) => r.method === method && r.ratio === ratio);
      if (rs.length > 0) rows.push([ratio, method, ...CORRUPTION_NAMES.map((c) => percent(mean(rs.map((r) => top1(r.eval, c)))))]);
    }
  }
  return markdownTable(['FLOPs target', 'method', ...CORRUPTION_NAMES], rows);
}

function perRunRows(record: CompressionRecord): string[] {
  return markdownTable(['FLOPs target', 'method', 'seed', 'clean %', 'corrupted %', 'warm-up loss', 'fine-tune loss', 'kept widths (blocks..., head)', 'seconds'],
    record.runs.map((r) => [r.ratio, r.method, r.seed, percent(r.eval.clean), percent(r.eval.meanCorrupted), r.summary.warmupLoss.toFixed(3), r.summary.finetuneLoss.toFixed(3),
      Object.values(r.summary.widths).join(' '), r.summary.seconds.toFixed(0)]));
}

const TITLE = '# Compression: AdaSAP channel pruning against its baselines';

/** The page when no record exists for this model and these settings: what would run, labelled as the command's settings, and no figures. */
export function reportWithoutRecord(model: string, settings: CompressionSettings, configs: Partial<Record<CompressMethod, CompressConfig>>): string {
  const { run, report } = commands(model, settings);
  return [
    TITLE, '',
    `**No committed run record yet** for \`${model}\` with these settings: this page has no measured figures. \`${run}\` compresses, evaluates and times ` +
    'every model (about 20 CPU-hours at 240 + 240 steps, 3 seeds, 5 severities, some 10 hours on 2 cores; an estimate: on the MobileNet v2 default an AdaSAP warm-up step of 64 images took 9 s at 2 threads beside the data loader and the dense model\'s 46 evaluations 3.5 min, measured 2026-12-06 (record runs/compression/records/step-cost-w4-2026-12-06.json), ' +
    'before two changes: the blocks both losses share run once per pass, and the text encoder is frozen with its embeddings computed once per batch; after both, a SAM step on pre-decoded batches takes 5.8 s, against 7.2 s with the shared blocks run for each loss, side by side (`npm run bench:compress-step -- --rounds 6 --record`, record runs/bench/compress-step.jsonl); SAM\'s steps make the same two passes, prune-finetune\'s one; resumable: each warm-up and fine-tune saves a checkpoint every ' +
    '`--checkpoint-every` steps, default 20, under the run\'s folder in `runs/compression/<model hash>/`, and a rerun of the same command goes on from the last one), ' +
    'writes each finished model\'s result to `runs/compression/records/<model hash>-<budgets>/` (commit them: a later session goes on from them) and this page from them; ' +
    `\`${report}\` rebuilds the page from a committed record. (Figures an earlier session measured, whose results were not kept, are in this file's git history; ` +
    'they cannot be rebuilt from the repository and are not repeated here.)', '',
    '## Setting (the command\'s settings: no run recorded)', '',
    ...methodLines(configs, settings), '',
  ].join('\n');
}

/** Which planned runs (methods × ratios × seeds of the settings) have no stored result yet. */
function partialNote(record: CompressionRecord): string[] {
  const s = record.settings;
  const missing = s.ratios.flatMap((ratio) => s.methods.flatMap((method) => s.seeds
    .filter((seed) => !record.runs.some((r) => r.method === method && r.ratio === ratio && r.seed === seed))
    .map((seed) => `${method} ${ratio} seed ${seed}`)));
  if (missing.length === 0) return [];
  const planned = s.ratios.length * s.methods.length * s.seeds.length;
  return ['', `**Partial.** ${planned - missing.length} of the ${planned} planned runs are measured; not yet: ${missing.join(', ')}. ` +
    'Every figure below is from the measured runs only; the same command goes on with the rest.'];
}

export function buildCompressionReport(record: CompressionRecord): string {
  const { settings: s, host: h, dense } = record;
  const configs = Object.fromEntries(record.runs.map((r) => [r.method, r.config])) as Partial<Record<CompressMethod, CompressConfig>>;
  const { run, report } = commands(record.model, s);
  const denseSe = accuracyError(dense.eval.clean, s.limit);
  const lines = [
    TITLE, '',
    `Generated from the committed results in \`runs/compression/records/${record.folder}/\` by \`${report}\`; \`${run}\` measures what is missing (a result is measured again once its file is deleted). Do not edit by hand.`,
    `Model: \`${record.model}\` (weights sha256 ${record.modelKey}…). Host (recorded): ${describeHost(h)}, ` +
    `${describeLoad(h.loadAverage, record.loadAverageAtEnd)} of the run (finished ${record.finished.slice(0, 10)}).`,
    '',
    '## Setting (read from the recorded configs)', '',
    ...methodLines(configs, s),
    `- With ${s.limit} images, one accuracy near the dense model's ${percent(dense.eval.clean)}% has a binomial standard error of ${percent(denseSe)} points.`,
    ...(s.stepsWarmup + s.stepsFinetune < 48 || s.limit < 500
      ? ['', `**Budget note.** These budgets (${s.stepsWarmup} + ${s.stepsFinetune} steps, ${s.limit} test images) are below the command's defaults: ` +
        'a pruned model barely recovers in so few steps.']
      : []),
    ...partialNote(record),
    '', '## Results', '',
    `Dense model: clean ${percent(dense.eval.clean)}%, mean corrupted ${percent(dense.eval.meanCorrupted)}%, ${(dense.macs / 1e6).toFixed(2)}M multiply-adds, ` +
    `${(dense.params / 1e3).toFixed(0)}k parameters` + (dense.deploy === null ? '.'
      : `, classifier ${dense.deploy.kb.toFixed(0)} KB, ${ms(dense.deploy.batch1.median, 2)} ms at batch 1, ${ms(dense.deploy.batch64.median, 1)} ms at batch 64 (median over the rounds beside every run).`),
    '', ...resultRows(record), '',
    '## Targets', '',
    ...[accuracyTarget(record.runs, s.limit), speedTarget(record, SPEED_TARGET.ratio, SPEED_TARGET.goal)].filter((l): l is string => l !== null),
    '', '## AdaSAP against each baseline', '',
    ...s.ratios.map((ratio) => baselineComparisons(record.runs, ratio, s.limit, s.methods)).filter((l): l is string => l !== null),
    '', '## Corrupted top-1 per corruption (mean over seeds and severities)', '',
    ...perCorruptionRows(record), '',
    '## Per run', '',
    ...perRunRows(record), '',
    'The compressed model folders (loadable, evaluable, exportable as any model) are kept under `runs/compression/` by the run (not committed); ' +
    '`hyperclip compress --model DIR --method adasap --flops 0.5 --out DIR` makes one by hand (checkpointed in `DIR/checkpoints`; `--resume` continues a stopped one).', '',
  ];
  return lines.join('\n');
}

/** The part of a record's name that says which budgets it measured. */
/** The budgets that make results comparable, naming their folder (t4: the training as of issue 29's reconstruction; seeds, ratios and methods are files within). */
export const budgetKey = (s: CompressionSettings): string =>
  `w${s.stepsWarmup}-f${s.stepsFinetune}-b${s.batchSize}-n${s.limit}-sev${s.severities.join('')}-t4`;
