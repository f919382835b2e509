// AdaSAP's fine-tune radius, chosen on validation. The compression
// comparison fine-tunes AdaSAP's pruned model with ASAM (Kwon et al. 2021),
// whose nudge is rho * T^2 g / ||T g|| with T = |w| + eta: a radius relative
// to each weight's size. At the default rho 0.5 the fine-tune's loss climbed
// from 7.8 to about 10 and the model at 0.5 of the FLOPs ended at chance on
// CIFAR-10. This runs, from one AdaSAP warm-up, a short fine-tune at each
// radius (0: no nudge, prune-finetune's step) and reads zero-shot top-1 on
// Tiny ImageNet val, never on the test sets the comparison reports.
//   npm run experiment:asam-radius -- --model models/default
// Writes runs/compression/records/asam-radius-<model hash>.json and
// docs/asam-radius.md from it; --report-only rebuilds the page.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadBundle } from '../src/bundle/bundle.js';
import { pruneAndFinetune, warmUp } from '../src/compress/adasap.js';
import { resolveCompressConfig } from '../src/compress/adasap-recipe.js';
import { checked, integer } from '../src/cli/parse.js';
import { percent } from '../src/eval/format.js';
import { projectRoot } from '../src/project-root.js';
import { tinyImagenetValZeroShot } from '../src/train/validate.js';
import { describeHost, host, type Host } from '../tools/host.js';
import { accuracyDifferenceError, judgeNoise } from '../tools/stats.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { recordThenPage } from './record-page.js';
import { modelKey, parseRatios, stderrLog } from './compression.js';

interface Options { model: string; warmup: number; ratio: string; finetune: number; radii: string; limit: number; warmedFrom?: string; doc: string; reportOnly?: boolean }

/** seconds: the compression summary's, the warm-up's (read from its checkpoint) plus this fine-tune's. */
export interface RadiusRow { asamRho: number; top1: number; finetuneLoss: number; seconds: number }

export interface RadiusRecord {
  command: string;
  finished: string;
  model: string;
  modelKey: string;
  host: Host;
  settings: { warmupSteps: number; ratio: number; finetuneSteps: number; limit: number; batchSize: number; seed: number; lr: number; asamEta: number };
  dense: { top1: number };
  rows: RadiusRow[];
}

const { log, reporter } = stderrLog('asam-radius');

const recordFile = (key: string) => path.join(projectRoot(), 'runs', 'compression', 'records', `asam-radius-${key}.json`);

/** "0,0.5,0.1" -> radii, each >= 0 (0: no nudge). */
export function parseRadii(list: string): number[] {
  const values = list.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (values.length === 0 || values.some((v) => !(v >= 0 && Number.isFinite(v)))) {
    throw new Error(`--radii takes ASAM radii >= 0 separated by commas (0: no nudge), e.g. 0,0.5,0.1; got "${list}"`);
  }
  return [...new Set(values)];
}

async function run(opts: Options, key: string): Promise<RadiusRecord> {
  const started = host();
  const ratio = parseRatios(opts.ratio)[0]!;
  const bundle = loadBundle(opts.model);
  const denseTop1 = (await tinyImagenetValZeroShot(bundle, opts.limit)).top1;
  log(`dense ${opts.model}: Tiny ImageNet val ${percent(denseTop1, { unit: true })} on ${opts.limit} images`);
  const base = { method: 'adasap' as const, seed: 0, warmupSteps: opts.warmup, finetuneSteps: opts.finetune, batchSize: 64, flopsRatio: ratio };
  // One AdaSAP warm-up serves every radius; a finished one (the compression run's checkpoint folder) is copied, not written into.
  const checkpointDir = path.join(projectRoot(), 'runs', 'compression', key, 'asam-radius', `adasap-w${opts.warmup}-s0`);
  if (opts.warmedFrom !== undefined && !existsSync(path.join(checkpointDir, 'warmed.safetensors'))) {
    if (!existsSync(path.join(opts.warmedFrom, 'warmed.safetensors'))) throw new Error(`no finished warm-up in ${opts.warmedFrom} (no warmed.safetensors): give the checkpoint folder of a finished AdaSAP warm-up, or leave --warmed-from out`);
    mkdirSync(checkpointDir, { recursive: true });
    cpSync(path.join(opts.warmedFrom, 'warmed.safetensors'), path.join(checkpointDir, 'warmed.safetensors'));
  }
  const warmConfig = resolveCompressConfig(base);
  const warmed = await warmUp(bundle, warmConfig, reporter, { checkpoint: { dir: checkpointDir, everySteps: 20 } });
  const rows: RadiusRow[] = [];
  for (const asamRho of parseRadii(opts.radii)) {
    const config = asamRho === 0 ? resolveCompressConfig({ ...base, method: 'prune-finetune' }) : resolveCompressConfig({ ...base, asamRho });
    const { model, summary } = await pruneAndFinetune(bundle, warmed, config, reporter);
    const top1 = (await tinyImagenetValZeroShot({ ...bundle, model, config: model.config }, opts.limit)).top1;
    model.dispose();
    rows.push({ asamRho, top1, finetuneLoss: summary.finetuneLoss, seconds: summary.seconds });
    log(`radius ${asamRho}: Tiny ImageNet val ${percent(top1, { unit: true })}, fine-tune loss ${summary.finetuneLoss.toFixed(3)}`);
  }
  warmed.model.dispose();
  return {
    command: ['npm run experiment:asam-radius --', ...process.argv.slice(2)].join(' '), finished: new Date().toISOString(),
    model: path.relative(projectRoot(), path.resolve(opts.model)) || opts.model, modelKey: key, host: started,
    settings: { warmupSteps: opts.warmup, ratio, finetuneSteps: opts.finetune, limit: opts.limit, batchSize: base.batchSize, seed: base.seed, lr: warmConfig.lr, asamEta: warmConfig.asamEta },
    dense: { top1: denseTop1 }, rows,
  };
}

/** The radius with the highest validation top-1 among those that nudge (0 is the reference, not a candidate). */
export function chosenRadius(r: RadiusRecord): RadiusRow | null {
  return r.rows.filter((row) => row.asamRho > 0).reduce<RadiusRow | null>((best, row) => (best === null || row.top1 > best.top1 ? row : best), null);
}

/** How the chosen radius stands against the next best one above 0. */
function runnerUp(r: RadiusRecord, best: RadiusRow): string {
  const next = r.rows.filter((row) => row.asamRho > 0 && row !== best).sort((a, b) => b.top1 - a.top1)[0];
  if (next === undefined) return '';
  const verdict = judgeNoise(best.top1 - next.top1, accuracyDifferenceError(best.top1, next.top1, r.settings.limit));
  return `; against the next best, radius ${next.asamRho} at ${percent(next.top1, { digits: 1, unit: true })}: ${verdict}`;
}

export function buildRadiusReport(r: RadiusRecord): string {
  const s = r.settings;
  const best = chosenRadius(r);
  const against = (row: RadiusRow, other: RadiusRow | undefined) => {
    if (other === undefined || other === row) return '–';
    const d = row.top1 - other.top1, error = accuracyDifferenceError(row.top1, other.top1, s.limit);
    return `${d >= 0 ? '+' : '−'}${Math.abs(100 * d).toFixed(1)} (${judgeNoise(d, error)})`;
  };
  const reference = r.rows.find((row) => row.asamRho === 0);
  return [
    '# AdaSAP\'s fine-tune radius, chosen on validation',
    '',
    `Generated from \`runs/compression/records/asam-radius-${r.modelKey}.json\` by \`${r.command}\` ` +
    `(\`npm run experiment:asam-radius -- --model ${r.model} --report-only\` rebuilds this page). Machine: ${describeHost(r.host)}; finished ${r.finished.slice(0, 10)}.`,
    '',
    `From one AdaSAP warm-up of \`${r.model}\` (${s.warmupSteps} steps, batch ${s.batchSize}, seed ${s.seed}), each row prunes to ${s.ratio} of the FLOPs ` +
    `(global Taylor saliency, least-squares reconstruction) and fine-tunes ${s.finetuneSteps} steps (AdamW, peak lr ${s.lr}) with ASAM at that radius ` +
    `(eta ${s.asamEta}; radius 0: no nudge, prune-finetune's step), then reads zero-shot top-1 on ${s.limit} Tiny ImageNet val images: validation only, ` +
    'never the CIFAR test sets that docs/compression.md reports. The fine-tune is shorter than the comparison\'s, so the rows rank radii; they do not predict its figures.',
    '',
    `Dense model: ${percent(r.dense.top1, { unit: true })}. Differences are against radius 0, beyond noise when more than twice their standard error (two accuracies on ${s.limit} images).`,
    '',
    '| ASAM radius | Tiny ImageNet val top-1 | vs radius 0 (points) | fine-tune loss (last quarter) |',
    '|---|---|---|---|',
    ...r.rows.map((row) => `| ${row.asamRho === 0 ? '0 (no nudge)' : row.asamRho} | ${percent(row.top1, { digits: 1, unit: true })} | ${against(row, reference)} | ${row.finetuneLoss.toFixed(3)} |`),
    '',
    best === null ? 'No radius above 0 was run: nothing is chosen.'
      : `Chosen: radius ${best.asamRho}, the highest validation top-1 of the radii above 0 (${percent(best.top1, { digits: 1, unit: true })}${runnerUp(r, best)}); ` +
        'it is COMPRESS_DEFAULTS.asamRho in src/compress/adasap-recipe.ts, and `hyperclip compress --asam-rho` sets another.',
    '',
  ].join('\n');
}

async function main(opts: Options): Promise<void> {
  const key = modelKey(opts.model);
  const file = recordFile(key);
  const record = await recordThenPage({ file, doc: opts.doc, reportOnly: opts.reportOnly }, () => run(opts, key), buildRadiusReport);
  if (record === null) return;
  const best = chosenRadius(record);
  console.log(`wrote ${opts.doc} and its record ${path.relative(projectRoot(), file)}: ${record.rows.length} radii; best on validation ${best === null ? 'none' : `${best.asamRho} (${percent(best.top1, { unit: true })})`}`);
}

export function cli(): Command {
  return new Command('asam-radius')
    .description('AdaSAP\'s ASAM fine-tune radius at one FLOPs ratio, ranked by Tiny ImageNet val zero-shot top-1')
    .option('--model <dir>', 'the trained model folder', 'models/default')
    .option('--warmup <n>', 'AdaSAP warm-up steps', integer('warmup', 1), 240)
    .option('--warmed-from <dir>', 'checkpoint folder of a finished AdaSAP warm-up with these settings (e.g. the compression run\'s checkpoints/adasap-s0), copied instead of warming up again')
    .option('--ratio <r>', 'FLOPs ratio', checked(parseRatios), '0.5')
    .option('--finetune <n>', 'fine-tune steps at each radius', integer('finetune', 1), 60)
    .option('--radii <list>', 'ASAM radii (0: no nudge)', checked(parseRadii), '0,0.5,0.1,0.02')
    .option('--limit <n>', 'Tiny ImageNet val images per evaluation', integer('limit', 1), 500)
    .option('--doc <file>', 'the page to write', 'docs/asam-radius.md')
    .option('--report-only', 'rewrite the page from the committed record; run nothing');
}

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('asam-radius', main)).parseAsync();
