// Issue 17's comparison: AdaSAP against prune + fine-tune and plain SAM at
// FLOPs ratios 0.7 and 0.5, each from the same trained model: clean and
// corrupted CIFAR-10 zero-shot top-1, parameters, multiply-adds, the
// generated classifier's file size and its onnxruntime latency at batch 1
// and 64. Writes docs/compression.md.
//   npm run experiment:compression -- --model models/default
// The defaults are issue 29's budgets: 3 seeds, 240 + 240 steps (ten times
// the first runs' 24 + 24), all 5 severities: about 20 CPU-hours on the
// MobileNet v2 default. Smaller settings (--steps-warmup 24 ...) give a
// quick run whose results and record are kept apart by their settings.
// Resumable: every compressed model and evaluation is kept under
// runs/compression/<model hash>/ and reused; a different model (another
// models/default) gets a new folder. The warm-up does not depend on the
// target, so one warm-up per method and seed serves both ratios. Within a
// model, the warm-up and each fine-tune save a checkpoint every
// --checkpoint-every steps under <folder>/checkpoints/<method>-s<seed>/ (the
// finished warm-up stays there for every ratio), so a run killed mid-phase
// goes on from its last checkpoint to the same result. The run's
// record (settings, configs, host, every result and timing) goes to
// runs/compression/records/ (committed); the doc is built from it alone,
// and --report-only rebuilds it from there.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadBundle, saveBundle, type Bundle } from '../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource } from '../src/data/index.js';
import { generateClassifier } from '../src/deploy/generate.js';
import { openRunner } from '../src/deploy/runtime/node.js';
import { useAllCores } from '../src/engine/index.js';
import { pruneAndFinetune, warmUp, type CompressReporter, type CompressSummary } from '../src/compress/adasap.js';
import { removeFinetuneCheckpoint } from '../src/compress/compress-checkpoint.js';
import { COMPRESS_METHODS, resolveCompressConfig, type CompressConfig, type CompressMethod } from '../src/compress/adasap-recipe.js';
import { classifierCost } from '../src/compress/flops.js';
import { CORRUPTION_NAMES, parseSeverities } from '../src/eval/corruptions/corruptions.js';
import { evaluateCorruptions, type CorruptionResult } from '../src/eval/corruptions/evaluate.js';
import { MODEL_FILES } from '../src/models/folder-layout.js';
import { host } from '../tools/host.js';
import { isEntryPoint } from '../tools/script-entry.js';
import { timeInterleavedSamples, timing } from '../tools/timing.js';
import {
  buildCompressionReport, reportWithoutRecord, settingsKey, type CompressedRun, type CompressionRecord, type CompressionSettings, type DeploymentRecord, type EvalRecord,
} from './compression/report.js';
import { percent } from '../src/eval/format.js';
import { projectRoot } from '../src/project-root.js';
import { checked, integer } from '../src/cli/parse.js';
import { checkFlopsRatio } from '../src/compress/channel-plan.js';
import { parseSeeds } from './hyperclip-vs-siglip/plan.js';

interface Options {
  model: string;
  out: string;
  doc: string;
  seeds: string;
  ratios: string;
  stepsWarmup: string;
  stepsFinetune: string;
  batchSize: string;
  limit: string;
  severities: string;
  reportOnly?: boolean;
  report: boolean;
  latencyRounds: string;
  checkpointEvery: string;
}

interface RunResult { method: CompressMethod | 'dense'; ratio: number; seed: number; dir: string; summary: CompressSummary | null; eval: CorruptionResult; config?: CompressConfig }

/** Timestamped lines on stderr under `name`, and a compression reporter that writes its phases and every tenth step's loss with them. */
export function stderrLog(name: string): { log: (text: string) => void; reporter: CompressReporter } {
  const log = (text: string) => process.stderr.write(`[${name} ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  return {
    log,
    reporter: {
      phase: (phase, steps) => log(`${phase}: ${steps} steps`),
      step: (step, loss) => { if (step % 10 === 0) log(`  step ${step} loss ${loss.toFixed(4)}`); },
      done: () => undefined,
      message: log,
    },
  };
}

const { log, reporter } = stderrLog('compression');

/** The first 12 hex digits of the sha256 of a model folder's weights: what keys its results and records. */
export function modelKey(dir: string): string {
  return createHash('sha256').update(readFileSync(path.join(dir, MODEL_FILES.weights))).digest('hex').slice(0, 12);
}


async function evaluate(bundle: Bundle, opts: Options): Promise<CorruptionResult> {
  const source = resolveDataset('cifar10', 'test');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  return evaluateCorruptions(bundle, { shards: source.shards, caption }, caption.classnames, caption.templates, {
    corruptions: [...CORRUPTION_NAMES], severities: parseSeverities(opts.severities), limit: Number(opts.limit), seed: 0,
  });
}

function readResult(file: string): RunResult | null {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as RunResult : null;
}

async function denseResult(root: string, opts: Options): Promise<RunResult> {
  const file = path.join(root, 'dense.json');
  const cached = readResult(file);
  if (cached) return cached;
  log(`evaluating the dense model ${opts.model}`);
  const bundle = loadBundle(opts.model);
  const result: RunResult = { method: 'dense', ratio: 1, seed: 0, dir: opts.model, summary: null, eval: await evaluate(bundle, opts) };
  bundle.model.dispose();
  writeFileSync(file, JSON.stringify(result, null, 2));
  return result;
}

/** One warm-up per method and seed, then every ratio still missing. */
async function compressedResults(root: string, opts: Options): Promise<RunResult[]> {
  const ratios = parseRatios(opts.ratios);
  const out: RunResult[] = [];
  for (const seed of parseSeeds(opts.seeds)) {
    for (const method of COMPRESS_METHODS) {
      const folder = (ratio: number) => path.join(root, `${method}-f${ratio}-s${seed}`);
      const missing = ratios.filter((r) => !existsSync(path.join(folder(r), 'result.json')));
      if (missing.length > 0) {
        log(`${method} seed ${seed}: warm-up, then ratios ${missing.join(', ')}`);
        const bundle = loadBundle(opts.model);
        const base = { method, seed, warmupSteps: Number(opts.stepsWarmup), finetuneSteps: Number(opts.stepsFinetune), batchSize: Number(opts.batchSize) };
        const checkpoint = { dir: path.join(root, 'checkpoints', `${method}-s${seed}`), everySteps: Number(opts.checkpointEvery) };
        const warmed = await warmUp(bundle, resolveCompressConfig({ ...base, flopsRatio: missing[0]! }), reporter, { checkpoint });
        for (const ratio of missing) {
          const config = resolveCompressConfig({ ...base, flopsRatio: ratio });
          const { model, summary } = await pruneAndFinetune(bundle, warmed, config, reporter, { checkpoint });
          saveBundle(folder(ratio), model, bundle.tokenizer, { recipe: summary.recipe, compressedFrom: opts.model, compress: { ...config, ...summary } });
          const pruned = { ...bundle, dir: folder(ratio), model, config: model.config };
          log(`${method} ${ratio} seed ${seed}: evaluating`);
          const result: RunResult = { method, ratio, seed, dir: folder(ratio), summary, eval: await evaluate(pruned, opts), config };
          writeFileSync(path.join(folder(ratio), 'result.json'), JSON.stringify(result, null, 2));
          removeFinetuneCheckpoint(checkpoint.dir, config);
          log(`${method} ${ratio} seed ${seed}: clean ${percent(result.eval.clean, { unit: true })}, corrupted ${percent(result.eval.meanCorrupted, { unit: true })}`);
          model.dispose();
        }
        bundle.model.dispose();
      }
      for (const ratio of ratios) {
        const r = readResult(path.join(folder(ratio), 'result.json'));
        if (r) out.push(r);
      }
    }
  }
  return out;
}

/** Generated CIFAR-10 classifiers of every model, timed in interleaved rounds so load drift hits all alike. */
async function deployments(runs: RunResult[], rounds: [number, number]): Promise<Map<string, DeploymentRecord>> {
  const source = resolveDataset('cifar10', 'test');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  const runners = new Map<string, { run: (n: number) => Promise<unknown>; kb: number; release: () => Promise<void> }>();
  for (const r of runs) {
    const bundle = loadBundle(r.dir);
    const { bytes } = generateClassifier(bundle, { classNames: caption.classnames, templates: caption.templates });
    bundle.model.dispose();
    const runner = await openRunner(bytes);
    const size = bundle.preprocess.size;
    const inputs = new Map([1, 64].map((n) => [n, { data: new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i)), dims: [n, 3, size, size] }]));
    runners.set(r.dir, { run: (n) => runner.run({ [runner.inputNames[0]!]: inputs.get(n)! }), kb: bytes.byteLength / 1024, release: () => runner.release() });
  }
  log(`timing ${runners.size} classifiers in onnxruntime (load average ${host().loadAverage[0]})`);
  const calls = (n: number) => Object.fromEntries([...runners].map(([dir, r]) => [dir, () => r.run(n)]));
  const batch1 = await timeInterleavedSamples(calls(1), rounds[0], Math.ceil(rounds[0] / 10));
  const batch64 = await timeInterleavedSamples(calls(64), rounds[1], Math.ceil(rounds[1] / 10));
  const out = new Map<string, DeploymentRecord>();
  for (const [dir, r] of runners) {
    out.set(dir, { kb: r.kb, batch1: timing(batch1[dir]!), batch64: timing(batch64[dir]!) });
    await r.release();
  }
  return out;
}

const evalRecord = (e: CorruptionResult): EvalRecord => ({ samples: e.samples, clean: e.clean, meanCorrupted: e.meanCorrupted, perCorruption: e.perCorruption });

function settingsOf(opts: Options): CompressionSettings {
  return {
    seeds: parseSeeds(opts.seeds), ratios: parseRatios(opts.ratios), stepsWarmup: Number(opts.stepsWarmup), stepsFinetune: Number(opts.stepsFinetune),
    batchSize: Number(opts.batchSize), limit: Number(opts.limit), severities: parseSeverities(opts.severities),
    latencyRounds: parseLatencyRounds(opts.latencyRounds),
  };
}

const recordFile = (key: string, settings: CompressionSettings) => path.join(projectRoot(), 'runs', 'compression', 'records', `${key}-${settingsKey(settings)}.json`);

function buildRecord(opts: Options, key: string, started: ReturnType<typeof host>, dense: RunResult, runs: RunResult[], deploy: Map<string, DeploymentRecord>): CompressionRecord {
  const denseModel = loadBundle(opts.model);
  const arith = classifierCost(denseModel.model);
  denseModel.model.dispose();
  return {
    command: ['npm run experiment:compression --', ...process.argv.slice(2)].join(' '), finished: new Date().toISOString(),
    model: path.relative(projectRoot(), path.resolve(opts.model)) || opts.model, modelKey: key, settings: settingsOf(opts), host: started,
    loadAverageAtEnd: host().loadAverage,
    dense: { macs: arith.macs, params: arith.params, eval: evalRecord(dense.eval), deploy: deploy.get(dense.dir)! },
    runs: runs.map((r): CompressedRun => ({
      method: r.method as CompressMethod, ratio: r.ratio, seed: r.seed, summary: r.summary!, eval: evalRecord(r.eval), deploy: deploy.get(r.dir)!,
      // Results from before configs were kept: the config the same settings resolve to.
      config: r.config ?? resolveCompressConfig({ method: r.method as CompressMethod, flopsRatio: r.ratio, seed: r.seed, warmupSteps: Number(opts.stepsWarmup),
        finetuneSteps: Number(opts.stepsFinetune), batchSize: Number(opts.batchSize) }),
    })),
  };
}

/** The configs the command resolves for these settings (for a page without a record). */
function plannedConfigs(opts: Options): Partial<Record<CompressMethod, CompressConfig>> {
  return Object.fromEntries(COMPRESS_METHODS.map((method) => [method, resolveCompressConfig({
    method, flopsRatio: parseRatios(opts.ratios)[0]!, warmupSteps: Number(opts.stepsWarmup), finetuneSteps: Number(opts.stepsFinetune), batchSize: Number(opts.batchSize),
  })]));
}

/** "0.7,0.5" -> the FLOPs ratios, each strictly between 0 and 1. */
export function parseRatios(list: string): number[] {
  const values = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (values.length === 0) throw new Error('--ratios is empty: give FLOPs ratios between 0 and 1 (e.g. 0.7,0.5)');
  return values.map((v) => {
    const ratio = Number(v);
    try {
      checkFlopsRatio(ratio);
    } catch {
      throw new Error(`--ratios takes FLOPs ratios between 0 and 1 (e.g. 0.7,0.5); got "${v}"`);
    }
    return ratio;
  });
}

/** "200,30" -> the timed rounds at batch 1 and at batch 64. */
export function parseLatencyRounds(pair: string): [number, number] {
  const parts = pair.split(',');
  if (parts.length !== 2) throw new Error(`--latency-rounds takes two counts, batch 1 then batch 64 (e.g. 200,30); got "${pair}"`);
  const rounds = parts.map((p) => integer('latency-rounds')(p));
  return [rounds[0]!, rounds[1]!];
}

const atLeast = (name: string, min: number) => checked(integer(name, min));

export const cli = (): Command => new Command('compression')
  .option('--model <dir>', 'the trained model folder to compress', 'models/default')
  .option('--out <dir>', 'where compressed models and evaluations are kept', 'runs/compression')
  .option('--doc <file>', 'the report to write', 'docs/compression.md')
  .option('--seeds <list>', 'seeds', checked(parseSeeds), '0,1,2')
  .option('--ratios <list>', 'FLOPs ratios', checked(parseRatios), '0.7,0.5')
  .option('--steps-warmup <n>', 'steps before pruning', atLeast('steps-warmup', 1), '240')
  .option('--steps-finetune <n>', 'steps after pruning', atLeast('steps-finetune', 1), '240')
  .option('--batch-size <n>', 'images per step (at least 2: the loss contrasts the images of a batch)', atLeast('batch-size', 2), '64')
  .option('--limit <n>', 'CIFAR-10 test images per evaluation', atLeast('limit', 1), '500')
  .option('--severities <list>', 'corruption severities', checked(parseSeverities), '1,2,3,4,5')
  .option('--latency-rounds <b1,b64>', 'timed onnxruntime rounds at batch 1 and 64', checked(parseLatencyRounds), '200,30')
  .option('--checkpoint-every <n>', 'steps between checkpoints of the warm-up and each fine-tune; a rerun resumes from the last one', atLeast('checkpoint-every', 1), '20')
  .option('--report-only', 'rewrite the report from the committed record of this model and these settings; run nothing')
  .option('--no-report', 'compress and evaluate only (e.g. one seed per process); a later run without it times the models and writes the record and report');

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  if (!existsSync(path.join(opts.model, MODEL_FILES.weights))) throw new Error(`no hyperclip model at ${opts.model} (no ${MODEL_FILES.weights}): pass a model folder, e.g. --model models/default`);
  const key = modelKey(opts.model);
  const settings = settingsOf(opts);
  const file = recordFile(key, settings);
  mkdirSync(path.dirname(opts.doc), { recursive: true });
  if (opts.reportOnly) {
    const record = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as CompressionRecord : null;
    writeFileSync(opts.doc, record === null ? reportWithoutRecord(opts.model, settings, plannedConfigs(opts)) : buildCompressionReport(record));
    console.log(record === null ? `no record ${path.relative(projectRoot(), file)}: wrote ${opts.doc} saying so` : `wrote ${opts.doc} from ${path.relative(projectRoot(), file)}`);
    return;
  }
  useAllCores();
  const started = host();
  // Results are reused only for the same model, the same budgets and the same training (t2: a locked encoder trains from its first prunable block on;
  // t3: the text encoder frozen, its embeddings computed once per batch; t4: saliencies compared across layers as they are, and the
  // layers reading pruned channels solved by least squares on calibration images after pruning).
  const root = path.join(opts.out, key, `w${opts.stepsWarmup}-f${opts.stepsFinetune}-b${opts.batchSize}-n${opts.limit}-sev${opts.severities.replaceAll(',', '')}-t4`);
  mkdirSync(root, { recursive: true });
  log(`model ${opts.model} (sha256 ${key}), results in ${root}`);
  const dense = await denseResult(root, opts);
  const runs = await compressedResults(root, opts);
  if (!opts.report) {
    console.log(`compressed and evaluated ${runs.length} models in ${root}; a run without --no-report times them and writes the record and report`);
    return;
  }
  const deploy = await deployments([dense, ...runs], settings.latencyRounds);
  const record = buildRecord(opts, key, started, dense, runs, deploy);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 1) + '\n');
  writeFileSync(opts.doc, buildCompressionReport(record));
  console.log(`wrote ${opts.doc} and its record ${path.relative(projectRoot(), file)}: ${runs.length} compressed models against the dense ${opts.model}`);
}

if (isEntryPoint(import.meta.url)) main().catch((err) => {
  process.stderr.write(`compression: ${(err as Error).message}\n`);
  process.exit(1);
});
