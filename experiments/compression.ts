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
// Resumable across sessions: each finished model's evaluation and timing is
// stored at once in runs/compression/records/<model hash>-<budgets>/
// (committed, experiments/compression/store.ts) and never measured again; a
// different model (another models/default) gets a new folder. Compressed
// models and checkpoints go under runs/compression/<model hash>/ (not
// committed). The warm-up does not depend on the
// target, so one warm-up per method and seed serves both ratios. Within a
// model, the warm-up and each fine-tune save a checkpoint every
// --checkpoint-every steps under <folder>/checkpoints/<method>-s<seed>/ (the
// finished warm-up stays there for every ratio), so a run killed mid-phase
// goes on from its last checkpoint to the same result. The doc is built from
// the stored results alone (all of this model's and budgets', so a run of one
// method or seed keeps the others on the page), and --report-only rebuilds it
// from them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadBundle, saveBundle, type Bundle } from '../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource } from '../src/data/index.js';
import { generateClassifier } from '../src/deploy/generate.js';
import { openRunner } from '../src/deploy/runtime/node.js';
import { useAllCores } from '../src/engine/index.js';
import { pruneAndFinetune, warmUp, type CompressReporter } from '../src/compress/adasap.js';
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
  budgetKey, buildCompressionReport, reportWithoutRecord, speedUp, type CompressionSettings, type DeploymentRecord, type EvalRecord,
} from './compression/report.js';
import { assembleRecord, currentRun, DENSE_FILE, readStored, runFile, widenedByStored, writeStored, type ExpectedConfig, type StoredDense, type StoredRun } from './compression/store.js';
import { percent } from '../src/eval/format.js';
import { projectRoot } from '../src/project-root.js';
import { checked, integer } from '../src/cli/parse.js';
import { checkFlopsRatio } from '../src/compress/channel-plan.js';
import { parseSeeds } from './hyperclip-vs-siglip/plan.js';

interface Options {
  model: string;
  out: string;
  doc: string;
  methods: string;
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
  if (!existsSync(path.join(dir, MODEL_FILES.weights))) throw new Error(`no hyperclip model at ${dir} (no ${MODEL_FILES.weights}): pass a model folder, e.g. --model models/default`);
  return createHash('sha256').update(readFileSync(path.join(dir, MODEL_FILES.weights))).digest('hex').slice(0, 12);
}


async function evaluate(bundle: Bundle, opts: Options): Promise<CorruptionResult> {
  const source = resolveDataset('cifar10', 'test');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  return evaluateCorruptions(bundle, { shards: source.shards, caption }, caption.classnames, caption.templates, {
    corruptions: [...CORRUPTION_NAMES], severities: parseSeverities(opts.severities), limit: Number(opts.limit), seed: 0,
  });
}

async function denseResult(store: string, opts: Options): Promise<StoredDense> {
  const cached = readStored<StoredDense>(store, DENSE_FILE);
  if (cached) return cached;
  log(`evaluating the dense model ${opts.model}`);
  const started = host();
  const bundle = loadBundle(opts.model);
  const { macs, params } = classifierCost(bundle.model);
  const result: StoredDense = { macs, params, eval: evalRecord(await evaluate(bundle, opts)), host: started, finished: new Date().toISOString() };
  bundle.model.dispose();
  writeStored(store, DENSE_FILE, result);
  return result;
}

/** One warm-up per method and seed, then every ratio without a stored result: each compressed, evaluated, timed beside the dense classifier and stored at once. */
async function compressRuns(root: string, store: string, opts: Options): Promise<void> {
  const settings = settingsOf(opts);
  const expected = expectedConfig(settings);
  for (const seed of settings.seeds) {
    for (const method of settings.methods) {
      const folder = (ratio: number) => path.join(root, `${method}-f${ratio}-s${seed}`);
      const missing = settings.ratios.filter((r) => currentRun(store, method, r, seed, expected) === null);
      if (missing.length === 0) continue;
      const stale = missing.filter((r) => existsSync(path.join(store, runFile(method, r, seed))));
      if (stale.length > 0) log(`${method} seed ${seed}: the stored result at ratio ${stale.join(', ')} was made under other settings (an earlier default): measuring it again`);
      log(`${method} seed ${seed}: warm-up, then ratios ${missing.join(', ')}`);
      const started = host();
      const bundle = loadBundle(opts.model);
      const checkpoint = { dir: path.join(root, 'checkpoints', `${method}-s${seed}`), everySteps: Number(opts.checkpointEvery) };
      const warmed = await warmUp(bundle, expected(method, missing[0]!, seed), reporter, { checkpoint });
      for (const ratio of missing) {
        const config = expected(method, ratio, seed);
        const { model, summary } = await pruneAndFinetune(bundle, warmed, config, reporter, { checkpoint });
        saveBundle(folder(ratio), model, bundle.tokenizer, { recipe: summary.recipe, compressedFrom: opts.model, compress: { ...config, ...summary } });
        const pruned = { ...bundle, dir: folder(ratio), model, config: model.config };
        log(`${method} ${ratio} seed ${seed}: evaluating`);
        const evaluated = evalRecord(await evaluate(pruned, opts));
        model.dispose();
        const timed = await timeBeside([opts.model, folder(ratio)], settings.latencyRounds);
        const run: StoredRun = {
          method, ratio, seed, config, summary, eval: evaluated, deploy: timed.get(folder(ratio))!, denseDeploy: timed.get(opts.model)!,
          host: started, loadAverageAtEnd: host().loadAverage, finished: new Date().toISOString(), command: ['npm run experiment:compression --', ...process.argv.slice(2)].join(' '),
        };
        writeStored(store, runFile(method, ratio, seed), run);
        removeFinetuneCheckpoint(checkpoint.dir, config);
        log(`${method} ${ratio} seed ${seed}: clean ${percent(evaluated.clean, { unit: true })}, corrupted ${percent(evaluated.meanCorrupted, { unit: true })}, ` +
          `speed-up ${speedUp(run, 'batch1').toFixed(2)}x at batch 1, ${speedUp(run, 'batch64').toFixed(2)}x at batch 64; stored ${runFile(method, ratio, seed)}`);
      }
      bundle.model.dispose();
    }
  }
}

/** The generated CIFAR-10 classifiers of these model folders, timed in interleaved rounds so load drift hits all alike. */
async function timeBeside(dirs: string[], rounds: [number, number]): Promise<Map<string, DeploymentRecord>> {
  const source = resolveDataset('cifar10', 'test');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  const runners = new Map<string, { run: (n: number) => Promise<unknown>; kb: number; release: () => Promise<void> }>();
  for (const dir of dirs) {
    const bundle = loadBundle(dir);
    const { bytes } = generateClassifier(bundle, { classNames: caption.classnames, templates: caption.templates });
    bundle.model.dispose();
    const runner = await openRunner(bytes);
    const size = bundle.preprocess.size;
    const inputs = new Map([1, 64].map((n) => [n, { data: new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i)), dims: [n, 3, size, size] }]));
    runners.set(dir, { run: (n) => runner.run({ [runner.inputNames[0]!]: inputs.get(n)! }), kb: bytes.byteLength / 1024, release: () => runner.release() });
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
    methods: parseMethods(opts.methods), seeds: parseSeeds(opts.seeds), ratios: parseRatios(opts.ratios), stepsWarmup: Number(opts.stepsWarmup), stepsFinetune: Number(opts.stepsFinetune),
    batchSize: Number(opts.batchSize), limit: Number(opts.limit), severities: parseSeverities(opts.severities),
    latencyRounds: parseLatencyRounds(opts.latencyRounds),
  };
}

/** The config each run of these settings resolves to (what a stored result must have been made under; the warm-up reads it too). */
const expectedConfig = (s: CompressionSettings): ExpectedConfig => (method, ratio, seed) =>
  resolveCompressConfig({ method, seed, flopsRatio: ratio, warmupSteps: s.stepsWarmup, finetuneSteps: s.stepsFinetune, batchSize: s.batchSize });

/** The committed folder of this model's results under these budgets. */
const storeFolder = (key: string, settings: CompressionSettings) => path.join(projectRoot(), 'runs', 'compression', 'records', `${key}-${budgetKey(settings)}`);

/** The configs the command resolves for these settings (for a page without a record). */
function plannedConfigs(opts: Options): Partial<Record<CompressMethod, CompressConfig>> {
  return Object.fromEntries(parseMethods(opts.methods).map((method) => [method, resolveCompressConfig({
    method, flopsRatio: parseRatios(opts.ratios)[0]!, warmupSteps: Number(opts.stepsWarmup), finetuneSteps: Number(opts.stepsFinetune), batchSize: Number(opts.batchSize),
  })]));
}

/** "adasap,prune-finetune" -> those methods, in the order they run. */
export function parseMethods(list: string): CompressMethod[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`--methods is empty: give one or more of ${COMPRESS_METHODS.join(', ')}`);
  for (const name of names) {
    if (!(COMPRESS_METHODS as readonly string[]).includes(name)) throw new Error(`--methods takes ${COMPRESS_METHODS.join(', ')}; got "${name}"`);
  }
  return [...new Set(names)] as CompressMethod[];
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
  .option('--methods <list>', `methods, run in this order (${COMPRESS_METHODS.join(', ')})`, checked(parseMethods), COMPRESS_METHODS.join(','))
  .option('--seeds <list>', 'seeds', checked(parseSeeds), '0,1,2')
  .option('--ratios <list>', 'FLOPs ratios', checked(parseRatios), '0.7,0.5')
  .option('--steps-warmup <n>', 'steps before pruning', atLeast('steps-warmup', 1), '240')
  .option('--steps-finetune <n>', 'steps after pruning', atLeast('steps-finetune', 1), '240')
  .option('--batch-size <n>', 'images per step (at least 2: the loss contrasts the images of a batch)', atLeast('batch-size', 2), '64')
  .option('--limit <n>', 'CIFAR-10 test images per evaluation', atLeast('limit', 1), '500')
  .option('--severities <list>', 'corruption severities', checked(parseSeverities), '1,2,3,4,5')
  .option('--latency-rounds <b1,b64>', 'timed onnxruntime rounds at batch 1 and 64', checked(parseLatencyRounds), '200,30')
  .option('--checkpoint-every <n>', 'steps between checkpoints of the warm-up and each fine-tune; a rerun resumes from the last one', atLeast('checkpoint-every', 1), '20')
  .option('--report-only', 'rewrite the report from the committed results of this model and these budgets (all their stored methods, ratios and seeds, besides those asked for); run nothing')
  .option('--no-report', 'compress, evaluate, time and store only (e.g. one seed per process); leave the report as it is');

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  const key = modelKey(opts.model);
  const settings = settingsOf(opts);
  const store = storeFolder(key, settings);
  const writeReport = (): string => {
    const expected = expectedConfig(settings);
    const page = widenedByStored(store, settings, expected);
    const record = assembleRecord(store, page, path.relative(projectRoot(), path.resolve(opts.model)) || opts.model, key, expected);
    mkdirSync(path.dirname(opts.doc), { recursive: true });
    const measured = record === null || record.runs.length === 0 ? null : record;
    writeFileSync(opts.doc, measured === null ? reportWithoutRecord(opts.model, settings, plannedConfigs(opts)) : buildCompressionReport(measured));
    const planned = page.methods.length * page.seeds.length * page.ratios.length;
    return measured === null ? `no stored results in ${path.relative(projectRoot(), store)}: wrote ${opts.doc} saying so`
      : `wrote ${opts.doc} from ${measured.runs.length} of ${planned} planned runs stored in ${path.relative(projectRoot(), store)}`;
  };
  if (opts.reportOnly) {
    console.log(writeReport());
    return;
  }
  useAllCores();
  const root = path.join(opts.out, key, budgetKey(settings));
  mkdirSync(root, { recursive: true });
  mkdirSync(store, { recursive: true });
  log(`model ${opts.model} (sha256 ${key}): results stored in ${path.relative(projectRoot(), store)} (commit them), checkpoints and compressed models in ${root}`);
  await denseResult(store, opts);
  await compressRuns(root, store, opts);
  console.log(opts.report ? writeReport() : `stored every planned run in ${path.relative(projectRoot(), store)}; --report-only writes the page from them`);
}

if (isEntryPoint(import.meta.url)) main().catch((err) => {
  process.stderr.write(`compression: ${(err as Error).message}\n`);
  process.exit(1);
});
