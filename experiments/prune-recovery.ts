// How much of a pretrained model survives channel pruning, before any
// fine-tuning, under the plan's two saliency scales, with and without the
// least-squares reconstruction of src/compress/reconstruct.ts; and where a
// short plain fine-tune takes the old and the new setting. Read on
// validation only (Tiny ImageNet val, a seeded sample): this chose the
// compression defaults (saliencyScale, calibrationImages) that the AdaSAP
// comparison (experiments/compression.ts) uses for all its methods.
//   npm run experiment:prune-recovery -- --model models/default
// Writes runs/compression/records/prune-recovery-<model hash>.json and
// docs/prune-recovery.md from it; --report-only rebuilds the page.
import path from 'node:path';
import { Command } from 'commander';
import { loadBundle, type Bundle } from '../src/bundle/bundle.js';
import { pruneAndFinetune, warmUp } from '../src/compress/adasap.js';
import { resolveCompressConfig } from '../src/compress/adasap-recipe.js';
import type { SaliencyScale } from '../src/compress/channel-plan.js';
import { checked, integer } from '../src/cli/parse.js';
import { percent } from '../src/eval/format.js';
import { projectRoot } from '../src/project-root.js';
import { tinyImagenetValZeroShot } from '../src/train/validate.js';
import { describeHost, host, type Host } from '../tools/host.js';
import { accuracyDifferenceError, judgeNoise } from '../tools/stats.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { recordThenPage } from './record-page.js';
import { modelKey, parseRatios, stderrLog } from './compression.js';

interface Options { model: string; warmup: number; ratios: string; finetune: number; calibrationImages: number; limit: number; doc: string; reportOnly?: boolean }

export interface RecoveryRow { saliencyScale: SaliencyScale; calibrationImages: number; ratio: number; finetuneSteps: number; top1: number; finetuneLoss: number | null }

export interface RecoveryRecord {
  command: string;
  finished: string;
  model: string;
  modelKey: string;
  host: Host;
  settings: { warmupSteps: number; ratios: number[]; finetuneSteps: number; calibrationImages: number; limit: number; batchSize: number; seed: number };
  dense: { top1: number; warmupLoss: number };
  rows: RecoveryRow[];
}

const { log, reporter } = stderrLog('prune-recovery');

const recordFile = (key: string) => path.join(projectRoot(), 'runs', 'compression', 'records', `prune-recovery-${key}.json`);

async function valTop1(bundle: Bundle, limit: number): Promise<number> {
  return (await tinyImagenetValZeroShot(bundle, limit)).top1;
}

async function run(opts: Options, key: string): Promise<RecoveryRecord> {
  const started = host();
  const ratios = parseRatios(opts.ratios);
  const bundle = loadBundle(opts.model);
  const denseTop1 = await valTop1(bundle, opts.limit);
  log(`dense ${opts.model}: Tiny ImageNet val ${percent(denseTop1, { unit: true })} on ${opts.limit} images`);
  const base = { method: 'prune-finetune' as const, seed: 0, warmupSteps: opts.warmup, batchSize: 64 };
  // The saliency does not depend on the plan's settings: one warm-up serves every row.
  const warmed = await warmUp(bundle, resolveCompressConfig({ ...base, flopsRatio: ratios[0]!, finetuneSteps: 0 }), reporter);
  const rows: RecoveryRow[] = [];
  const variants: { saliencyScale: SaliencyScale; calibrationImages: number }[] = [
    { saliencyScale: 'group', calibrationImages: 0 }, { saliencyScale: 'global', calibrationImages: 0 },
    { saliencyScale: 'group', calibrationImages: opts.calibrationImages }, { saliencyScale: 'global', calibrationImages: opts.calibrationImages },
  ];
  const smallest = Math.min(...ratios);
  const plans = [
    ...variants.flatMap((v) => ratios.map((ratio) => ({ ...v, ratio, finetuneSteps: 0 }))),
    // The old setting and the new one, fine-tuned briefly at the smallest ratio.
    ...(opts.finetune > 0 ? [variants[0]!, variants[3]!].map((v) => ({ ...v, ratio: smallest, finetuneSteps: opts.finetune })) : []),
  ];
  for (const p of plans) {
    const config = resolveCompressConfig({ ...base, flopsRatio: p.ratio, finetuneSteps: p.finetuneSteps, saliencyScale: p.saliencyScale, calibrationImages: p.calibrationImages });
    const { model, summary } = await pruneAndFinetune(bundle, warmed, config, reporter);
    const top1 = await valTop1({ ...bundle, model, config: model.config }, opts.limit);
    model.dispose();
    rows.push({ ...p, top1, finetuneLoss: Number.isNaN(summary.finetuneLoss) ? null : summary.finetuneLoss });
    log(`${p.saliencyScale} scale, ${p.calibrationImages} calibration images, ${p.ratio} of the FLOPs, ${p.finetuneSteps} fine-tune steps: ${percent(top1, { unit: true })}`);
  }
  warmed.model.dispose();
  return {
    command: ['npm run experiment:prune-recovery --', ...process.argv.slice(2)].join(' '), finished: new Date().toISOString(),
    model: path.relative(projectRoot(), path.resolve(opts.model)) || opts.model, modelKey: key, host: started,
    settings: { warmupSteps: opts.warmup, ratios, finetuneSteps: opts.finetune, calibrationImages: opts.calibrationImages, limit: opts.limit, batchSize: base.batchSize, seed: base.seed },
    dense: { top1: denseTop1, warmupLoss: warmed.warmupLoss }, rows,
  };
}

/** The page: one table of the rows, with the noise rule stated. */
export function buildRecoveryReport(r: RecoveryRecord): string {
  const s = r.settings;
  const label = (row: RecoveryRow) => `${row.saliencyScale}, ${row.calibrationImages === 0 ? 'no reconstruction' : `reconstructed on ${row.calibrationImages} images`}`;
  const lines = [
    '# Pruning without collapse: saliency scale and reconstruction',
    '',
    `Generated from \`runs/compression/records/prune-recovery-${r.modelKey}.json\` by \`${r.command}\` ` +
    `(\`npm run experiment:prune-recovery -- --model ${r.model} --report-only\` rebuilds this page). Machine: ${describeHost(r.host)}; finished ${r.finished.slice(0, 10)}.`,
    '',
    `What survives when whole channels of \`${r.model}\`'s image encoder are pruned to a FLOPs target, read on validation only: zero-shot top-1 on ` +
    `${s.limit} Tiny ImageNet val images (a seeded sample, as \`experiment:validation\` reads them). The saliency is the first-order Taylor score ` +
    `gathered over ${s.warmupSteps} plain steps (batch ${s.batchSize}, seed ${s.seed}) of the model's own pre-training loss, one warm-up for every row. ` +
    'The plan removes channels in units of 8, cheapest first, where the price is the saliency per multiply-add saved: **group** divides each layer\'s ' +
    'saliencies by their mean (every layer counts as equally important on average), **global** takes them as they are (a Taylor score estimates the ' +
    'loss change, the same quantity in every layer). **Reconstructed**: after the surgery, block by block on the pruned model\'s own inputs, each ' +
    'block\'s project conv and the image projection are solved by least squares to reproduce the dense model\'s outputs on that many training images ' +
    '(src/compress/reconstruct.ts).',
    '',
    `Dense model: ${percent(r.dense.top1, { unit: true })}. A difference of two rows is beyond noise when it exceeds twice its standard error ` +
    `(two accuracies on ${s.limit} images each, as independent samples; about ${(200 * accuracyDifferenceError(0.2, 0.2, s.limit)).toFixed(1)} points near 20%).`,
    '',
    '| setting | FLOPs | fine-tune steps | Tiny ImageNet val top-1 | fine-tune loss (last quarter) |',
    '|---|---|---|---|---|',
    ...r.rows.map((row) => `| ${label(row)} | ${row.ratio} | ${row.finetuneSteps} | ${percent(row.top1, { digits: 1, unit: true })} | ${row.finetuneLoss === null ? '–' : row.finetuneLoss.toFixed(3)} |`),
    '',
    'Each lever at each ratio, without fine-tuning (points, with twice the standard error):',
    '',
    '| FLOPs | reconstruction, group scale | reconstruction, global scale | global − group, no reconstruction | global − group, reconstructed |',
    '|---|---|---|---|---|',
    ...s.ratios.map((ratio) => {
      const at = (scale: SaliencyScale, calibrated: boolean) => r.rows.find((row) => row.ratio === ratio && row.finetuneSteps === 0 &&
        row.saliencyScale === scale && (row.calibrationImages > 0) === calibrated)?.top1;
      const cell = (a: number | undefined, b: number | undefined) => {
        if (a === undefined || b === undefined) return 'n/a';
        const d = 100 * (a - b), error = accuracyDifferenceError(a, b, s.limit), verdict = judgeNoise(a - b, error);
        return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} (${(200 * error).toFixed(1)}), ${verdict === 'beyond noise' ? `**${verdict}**` : verdict}`;
      };
      return `| ${ratio} | ${cell(at('group', true), at('group', false))} | ${cell(at('global', true), at('global', false))} | ` +
        `${cell(at('global', false), at('group', false))} | ${cell(at('global', true), at('group', true))} |`;
    }),
    '',
    `The dense model's pre-training loss over the warm-up's last quarter: ${r.dense.warmupLoss.toFixed(3)}. ` +
    'The compression comparison (docs/compression.md) uses the global scale and reconstruction for all three methods.',
    '',
  ];
  return lines.join('\n');
}

async function main(opts: Options): Promise<void> {
  const key = modelKey(opts.model);
  const file = recordFile(key);
  const record = await recordThenPage({ file, doc: opts.doc, reportOnly: opts.reportOnly }, () => run(opts, key), buildRecoveryReport);
  if (record === null) return;
  console.log(`wrote ${opts.doc} and its record ${path.relative(projectRoot(), file)}: ${record.rows.length} pruned models against the dense ${record.model} (${percent(record.dense.top1, { unit: true })})`);
}

export function cli(): Command {
  return new Command('prune-recovery')
    .description('how much of a model survives channel pruning, by saliency scale and with or without least-squares reconstruction (Tiny ImageNet val)')
    .option('--model <dir>', 'the trained model folder', 'models/default')
    .option('--warmup <n>', 'plain steps that gather the Taylor saliency', integer('warmup', 1), 20)
    .option('--ratios <list>', 'FLOPs ratios', checked(parseRatios), '0.9,0.7,0.5')
    .option('--finetune <n>', 'plain fine-tune steps of the old and the new setting at the smallest ratio (0: none)', integer('finetune', 0), 60)
    .option('--calibration-images <n>', 'training images the reconstruction is solved on', integer('calibration-images', 1), 256)
    .option('--limit <n>', 'Tiny ImageNet val images per evaluation', integer('limit', 1), 500)
    .option('--doc <file>', 'the page to write', 'docs/prune-recovery.md')
    .option('--report-only', 'rewrite the page from the committed record; run nothing');
}

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('prune-recovery', main)).parseAsync();
