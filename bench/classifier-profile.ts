// Where a generated CIFAR-10 classifier spends its onnxruntime time, by layer
// kind, for the dense model and channel-pruned ones (experiment:compression's
// models), at batch 1 and batch 64. docs/compression.md measures that a
// classifier pruned to half the multiply-adds runs about 2.3x faster at batch
// 1 but only 1.75x at batch 64; this bench shows where the time goes and
// whether that difference is the model's or the timing's. onnxruntime's profiler times every kernel call and adds time
// of its own, so each profiled run has beside it a run of the same
// classifier in a session without the profiler, timed by the wall clock.
// All sessions run interleaved, round by round, so load drift hits every
// model alike. Then each classifier is timed with its session the only one
// open, as a deployment runs it (open sessions slow each other on few
// cores). Appends one JSON line to
// runs/bench/classifier-profile.jsonl and rewrites the generated section of
// docs/compression-profile.md from it.
//   npm run bench:classifier-profile -- --compressed runs/compression/ecfb9cb87efe/w240-f240-b64-n500-sev12345-t4/adasap-f0.5-s0
//   npm run bench:classifier-profile -- --report-only
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { rewriteSection } from './lib/doc-section.js';
import { appendRecord, host, readRecords, type Host } from './lib/records.js';
import { LAYER_KINDS, summarizeTrace, type TraceSummary } from './lib/ort-trace.js';
import { defaultModelDir, loadBundle } from '../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource } from '../src/data/index.js';
import { generateClassifier } from '../src/deploy/generate.js';
import { openRunner, profiledRunner } from '../src/deploy/runtime/node.js';
import type { InferenceRunner } from '../src/deploy/runtime/session.js';
import { useAllCores } from '../src/engine/index.js';
import { projectRoot } from '../src/project-root.js';
import { describeHost } from '../tools/host.js';
import { median } from '../tools/stats.js';

const RECORD = 'classifier-profile';
const COMMAND = 'npm run bench:classifier-profile -- --report-only';
const BATCHES = [1, 64] as const;

interface Options { model?: string; compressed?: string; runs: string; quick?: boolean; reportOnly?: boolean; doc: string }

export interface ProfiledModel {
  name: string; dir: string; kb: number; batch1: TraceSummary; batch64: TraceSummary;
  /** Median wall-clock ms of a run in a session without the profiler, timed in the same rounds: the latency the profile is read against. */
  unprofiledMs: { batch1: number; batch64: number };
  /** Median wall-clock ms with this classifier's session the only one open (absent in records before it was measured). */
  aloneMs?: { batch1: number; batch64: number };
}
export interface ProfileRecord { date: string; command: string; host: Host; classes: number; inputSize: number; runs: [number, number]; warmup: [number, number]; models: ProfiledModel[] }

export const cli = (): Command => new Command('bench:classifier-profile')
  .description('time a dense and channel-pruned classifiers kernel by kernel in onnxruntime, summed by layer kind')
  .option('--model <dir>', 'the dense model folder (default: models/default)')
  .option('--compressed <dirs>', 'comma-separated folders of the same model compressed (hyperclip compress or npm run experiment:compression)')
  .option('--runs <b1,b64>', 'profiled runs per model at batch 1 and at batch 64', '100,20')
  .option('--quick', `${QUICK}; prints the table and records nothing`)
  .option('--report-only', `rewrite the doc's section from the last record; run nothing`)
  .option('--doc <file>', 'the doc whose generated section is rewritten', path.join('docs', 'compression-profile.md'));

export function parseRuns(pair: string): [number, number] {
  const parts = pair.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--runs takes two positive counts, batch 1 then batch 64 (e.g. 100,20); got "${pair}"`);
  return parts as [number, number];
}

/** The folders to profile, each checked to hold a model, with a one-line error otherwise. */
export function parseFolders(list: string | undefined): string[] {
  if (list === undefined || list.trim() === '') throw new Error('give --compressed with one or more compressed model folders (e.g. those npm run experiment:compression writes under runs/compression/), or --report-only');
  const dirs = list.split(',').map((d) => d.trim()).filter((d) => d !== '');
  for (const dir of dirs) if (!existsSync(path.join(dir, 'config.json'))) throw new Error(`${dir} is not a model folder (no config.json): give folders that hyperclip compress wrote`);
  return dirs;
}

/** The same synthetic images for every classifier: only their time is read. */
const syntheticInput = (n: number, size: number) => ({ data: new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i)), dims: [n, 3, size, size] });
type Feed = ReturnType<typeof syntheticInput>;

interface Session { runner: InferenceRunner; plain: InferenceRunner; traceDir: string; wallMs: number[] }

async function profileModels(dirs: string[], runs: [number, number], warmup: [number, number]): Promise<{ models: ProfiledModel[]; classes: number; inputSize: number }> {
  const caption = resolveDataset('cifar10', 'test').caption as Extract<CaptionSource, { kind: 'label' }>;
  const sessions: { dir: string; bytes: Uint8Array; kb: number; byBatch: Map<number, Session> }[] = [];
  let inputSize = 0;
  for (const dir of dirs) {
    const bundle = loadBundle(dir);
    const { bytes } = generateClassifier(bundle, { classNames: caption.classnames, templates: caption.templates });
    bundle.model.dispose();
    inputSize = bundle.preprocess.size;
    const byBatch = new Map<number, Session>();
    for (const n of BATCHES) {
      const traceDir = mkdtempSync(path.join(tmpdir(), 'hyperclip-profile-'));
      byBatch.set(n, { runner: await profiledRunner(path.join(traceDir, 'trace'))(bytes), plain: await openRunner(bytes), traceDir, wallMs: [] });
    }
    sessions.push({ dir, bytes, kb: bytes.byteLength / 1024, byBatch });
  }
  const feeds = BATCHES.map((n) => syntheticInput(n, inputSize));
  for (const [b, n] of BATCHES.entries()) {
    const feed = feeds[b]!;
    const total = runs[b]! + warmup[b]!;
    for (let round = 0; round < total; round++) {
      for (const s of sessions) {
        const session = s.byBatch.get(n)!;
        const started = performance.now();
        await session.plain.run({ [session.plain.inputNames[0]!]: feed });
        if (round >= warmup[b]!) session.wallMs.push(performance.now() - started);
        await session.runner.run({ [session.runner.inputNames[0]!]: feed });
      }
      if ((round + 1) % Math.max(1, Math.ceil(total / 5)) === 0) console.log(`  batch ${n}: round ${round + 1} of ${total}`);
    }
  }
  const models: ProfiledModel[] = [];
  for (const s of sessions) {
    const summaries: TraceSummary[] = [];
    for (const [b, n] of BATCHES.entries()) {
      const { runner, plain, traceDir } = s.byBatch.get(n)!;
      await plain.release();
      await runner.release(); // writes the trace
      const files = readdirSync(traceDir).filter((f) => f.endsWith('.json'));
      if (files.length !== 1) throw new Error(`onnxruntime wrote ${files.length} trace files in ${traceDir}, expected one`);
      summaries.push(summarizeTrace(JSON.parse(readFileSync(path.join(traceDir, files[0]!), 'utf8')), warmup[b]!));
      rmSync(traceDir, { recursive: true, force: true });
    }
    const wall = (n: number) => median(s.byBatch.get(n)!.wallMs);
    models.push({ name: path.basename(path.resolve(s.dir)), dir: path.relative(projectRoot(), path.resolve(s.dir)), kb: s.kb, batch1: summaries[0]!, batch64: summaries[1]!, unprofiledMs: { batch1: wall(1), batch64: wall(64) } });
  }
  const alone = await timeAlone(sessions.map((s) => s.bytes), feeds, runs, warmup);
  models.forEach((m, i) => { m.aloneMs = alone[i]; });
  return { models, classes: caption.classnames.length, inputSize };
}

const ALONE_PASSES = 4;

/**
 * Each classifier timed with its session the only one open: a process that
 * holds several onnxruntime sessions runs each of them slower at batch 1 on
 * few cores, in any order of calls. The classifiers take turns in passes
 * (open, warm up, time, release), so load drift still hits all alike.
 */
async function timeAlone(models: Uint8Array[], feeds: Feed[], runs: [number, number], warmup: [number, number]): Promise<{ batch1: number; batch64: number }[]> {
  const samples = models.map(() => BATCHES.map(() => [] as number[]));
  for (let pass = 0; pass < ALONE_PASSES; pass++) {
    for (const [m, bytes] of models.entries()) {
      const runner = await openRunner(bytes);
      for (const [b, feed] of feeds.entries()) {
        const count = Math.ceil(runs[b]! / ALONE_PASSES);
        for (let i = 0; i < warmup[b]! + count; i++) {
          const started = performance.now();
          await runner.run({ [runner.inputNames[0]!]: feed });
          if (i >= warmup[b]!) samples[m]![b]!.push(performance.now() - started);
        }
      }
      await runner.release();
    }
    console.log(`  alone: pass ${pass + 1} of ${ALONE_PASSES}`);
  }
  return samples.map(([b1, b64]) => ({ batch1: median(b1!), batch64: median(b64!) }));
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const share = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(0)}%`;

/** The generated section: one table per batch size, dense against each compressed model, by layer kind. */
export function profileLines(record: ProfileRecord): string[] {
  const [dense, ...compressed] = record.models;
  if (dense === undefined) throw new Error('the record holds no models');
  const lines = [
    `Measured ${record.date.slice(0, 10)} on ${describeHost(record.host)}: CIFAR-10 classifiers (${record.classes} classes, ${record.inputSize}×${record.inputSize} input), onnxruntime-node with its profiler on, and beside each profiled run one in a session without it (the row "profiler off")${record.models.every((m) => m.aloneMs !== undefined) ? `; then each classifier timed again with its session the only one open, in ${ALONE_PASSES} passes (the row "its session alone")` : ''}; medians of ${record.runs[0]} runs at batch 1 and ${record.runs[1]} at batch 64, after ${record.warmup[0]} and ${record.warmup[1]} warm-up runs.`,
    '',
    `Dense: \`${dense.dir}\`. Compressed: ${compressed.map((m) => `\`${m.dir}\``).join(', ')}.`,
  ];
  for (const key of ['batch1', 'batch64'] as const) {
    const batch = key === 'batch1' ? 1 : 64;
    const denseSum = LAYER_KINDS.reduce((a, k) => a + dense[key].kinds[k].ms, 0);
    lines.push('', `### Batch ${batch}`, '',
      `| layer kind | dense ms | dense share | ${compressed.map((m) => `${m.name} ms | speed-up | multiply-adds ratio`).join(' | ')} |`,
      `|---|---|---|${compressed.map(() => '---|---|---|').join('')}`);
    for (const kind of LAYER_KINDS) {
      const d = dense[key].kinds[kind];
      lines.push(`| ${kind} | ${ms(d.ms)} | ${share(d.ms, denseSum)} | ${compressed.map((m) => {
        const c = m[key].kinds[kind];
        return `${ms(c.ms)} | ${ratio(d.ms, c.ms)} | ${d.macs > 0 ? ratio(d.macs, c.macs) : '–'}`;
      }).join(' | ')} |`);
    }
    const sums = compressed.map((m) => LAYER_KINDS.reduce((a, k) => a + m[key].kinds[k].ms, 0));
    const macs = (m: ProfiledModel) => LAYER_KINDS.reduce((a, k) => a + m[key].kinds[k].macs, 0);
    lines.push(`| all kernels | ${ms(denseSum)} | 100% | ${compressed.map((m, i) => `${ms(sums[i]!)} | ${ratio(denseSum, sums[i]!)} | ${ratio(macs(dense), macs(m))}`).join(' | ')} |`);
    lines.push(`| whole run | ${ms(dense[key].runMs)} | | ${compressed.map((m) => `${ms(m[key].runMs)} | ${ratio(dense[key].runMs, m[key].runMs)} |`).join(' | ')} |`);
    lines.push(`| whole run, profiler off (wall clock) | ${ms(dense.unprofiledMs[key])} | | ${compressed.map((m) => `${ms(m.unprofiledMs[key])} | ${ratio(dense.unprofiledMs[key], m.unprofiledMs[key])} |`).join(' | ')} |`);
    if (dense.aloneMs !== undefined && compressed.every((m) => m.aloneMs !== undefined)) {
      lines.push(`| whole run, its session alone (wall clock) | ${ms(dense.aloneMs[key])} | | ${compressed.map((m) => `${ms(m.aloneMs![key])} | ${ratio(dense.aloneMs![key], m.aloneMs![key])} |`).join(' | ')} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const opts = cli().parse().opts<Options>();
  if (opts.reportOnly) {
    if (opts.compressed !== undefined || opts.quick) throw new Error('--report-only runs nothing: drop --compressed and --quick');
    const last = readRecords<ProfileRecord>(RECORD).at(-1);
    if (last === undefined) throw new Error(`no record in runs/bench/${RECORD}.jsonl: run the bench with --compressed first`);
    rewriteSection(opts.doc, COMMAND, profileLines(last));
    console.log(`bench:classifier-profile: wrote ${opts.doc} from the record of ${last.date}`);
    return;
  }
  const runs = opts.quick ? [3, 2] as [number, number] : parseRuns(opts.runs);
  const warmup: [number, number] = [Math.ceil(runs[0] / 10), Math.ceil(runs[1] / 10)];
  const dirs = [opts.model ?? defaultModelDir(), ...parseFolders(opts.compressed)];
  useAllCores();
  const started = host();
  console.log(`bench:classifier-profile: ${dirs.length} classifiers, ${runs[0]} runs at batch 1 and ${runs[1]} at batch 64 (load average ${started.loadAverage[0]})`);
  const { models, classes, inputSize } = await profileModels(dirs, runs, warmup);
  const record: ProfileRecord = {
    date: new Date().toISOString(), command: ['npm run bench:classifier-profile --', ...process.argv.slice(2)].join(' '), host: started, classes, inputSize, runs, warmup, models,
  };
  const lines = profileLines(record);
  if (opts.quick) {
    console.log(lines.join('\n'));
    console.log('bench:classifier-profile: --quick run, nothing recorded');
    return;
  }
  const file = appendRecord(RECORD, record);
  rewriteSection(opts.doc, COMMAND, lines);
  const [dense, first] = [models[0]!, models[1]!];
  console.log(`bench:classifier-profile: ${first.name} against dense, each session alone: ${ratio(dense.aloneMs!.batch1, first.aloneMs!.batch1)} faster at batch 1, ${ratio(dense.aloneMs!.batch64, first.aloneMs!.batch64)} at batch 64 (whole runs under the profiler: ${ratio(dense.batch1.runMs, first.batch1.runMs)} and ${ratio(dense.batch64.runMs, first.batch64.runMs)}); record ${path.relative(process.cwd(), file)}, doc ${opts.doc}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:classifier-profile: ${error.message}`);
  process.exit(1);
});
