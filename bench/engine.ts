// `npm run bench:engine`: trains the reference CNN (both memory layouts) and a
// small transformer, and trains and runs the ImageNet MobileNet v2 (width 1.0,
// 128 and 224 px, both layouts), with the engine and with PyTorch
// (bench/reference/engine.py in a child process), same threads and sizes,
// alternating engine and PyTorch runs so that changing machine load hits both
// alike; prints each throughput ratio (ours / PyTorch) and the small-op
// dispatch overhead as the last lines.
//   npm run bench:engine -- --quick
//   npm run bench:engine -- --only mnv2
//   npm run bench:engine -- --threads 1 --rounds 5
import { availableParallelism, loadavg } from 'node:os';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { getNumThreads, libtorchVersion, setNumThreads } from '../src/engine/index.js';
import { TrainingSession, dispatchMicroseconds, type BenchSession, type RunSettings } from './engine-runs.js';
import { INPUT_AFFINE, MobileNetSession } from './engine-mobilenet.js';
import { allRows, selectRows, type BenchRow } from './engine-rows.js';
import { PyTorchReference } from './reference-client.js';

interface Timing {
  warmup: number;
  rounds: number;
  steps: number;
}

interface Options extends RunSettings, Timing {
  threads: number;
  /** The MobileNet v2 rows' warm-up, rounds and steps: under --quick fewer than the small models', as each step costs seconds. */
  mobilenet: Timing;
  rows: BenchRow[];
  dispatch: boolean;
  python: string;
  dispatchIterations: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

export const cli = (): Command => new Command('bench:engine')
  .description('Engine vs PyTorch: training throughput (MobileNetV2-style CNN in both layouts, pre-LN transformer), '
    + 'ImageNet MobileNet v2 training and inference (128 and 224 px, both layouts), and small-op overhead')
  .option('--threads <n>', 'intra-op threads for both sides', String(availableParallelism()))
  .option('--quick', 'fewer steps: a smoke test of every row, not a measurement', false)
  .option('--only <rows>', 'comma-separated rows or prefixes: cnn, transformer, mnv2, mnv2_128, mnv2_224_train, dispatch, ... (default: all)')
  .option('--warmup <n>', 'warm-up steps per model and side (default 2; quick: 1 for mnv2)')
  .option('--rounds <n>', 'alternating engine/PyTorch rounds per model (default 6, quick 2; quick: 1 for mnv2)')
  .option('--steps <n>', 'timed steps per model, side and round, x10 for batch-1 inference (default 3, quick 2; quick: 1 for mnv2)')
  .option('--python <path>', 'python with torch for the reference', '/usr/bin/python3')
  .addHelpText('after', '\nExamples:\n  npm run bench:engine -- --quick --threads 2\n  npm run bench:engine -- --only mnv2 --threads 2');

function parseOptions(): Options {
  const o = cli().parse(process.argv).opts();
  const int = (value: string, name: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
  const quick = Boolean(o.quick);
  const timing = (quickDefaults: [string, string, string]): Timing => ({
    warmup: int(o.warmup ?? (quick ? quickDefaults[0] : '2'), 'warmup'),
    rounds: int(o.rounds ?? (quick ? quickDefaults[1] : '6'), 'rounds'),
    steps: int(o.steps ?? (quick ? quickDefaults[2] : '3'), 'steps'),
  });
  const batch = 128;
  return {
    threads: int(o.threads, 'threads'),
    ...timing(['2', '2', '2']),
    mobilenet: timing(['1', '1', '1']),
    ...selectRows(allRows(batch), o.only),
    batch,
    seq: 16,
    vocab: 512,
    python: o.python,
    dispatchIterations: quick ? 20000 : 200000,
  };
}

interface Measured {
  /** Seconds per step, one array per round. */
  rounds: number[][];
  loss: number;
}

/** The engine's session for a row; for MobileNet v2 also its parameter count, checked against PyTorch's. */
function openEngineSession(row: BenchRow, options: Options): { session: BenchSession; parameters: number | null } {
  if (row.model.kind === 'small') return { session: new TrainingSession(row.model.bench, options), parameters: null };
  const session = new MobileNetSession(row.model.spec);
  return { session, parameters: session.parameterCount };
}

/** The two MobileNet v2 implementations must be the same network: a differing parameter count stops the bench. */
function checkParameterCounts(row: BenchRow, ours: number, theirs: number | undefined): void {
  const line = `${row.name}: MobileNet v2 1.0 + 1000-class head: engine ${ours.toLocaleString('en')} parameters, PyTorch ${theirs?.toLocaleString('en')}`;
  if (theirs !== ours) throw new Error(`${line}: not the same network`);
  console.log(`${line} (equal)`);
}

/** Warm-up on both sides, then rounds that alternate engine and PyTorch steps on the same models. */
async function measure(row: BenchRow, options: Options, reference: PyTorchReference): Promise<[Measured, Measured]> {
  const timing = row.model.kind === 'mnv2' ? options.mobilenet : options;
  const steps = timing.steps * row.stepsScale;
  const { session, parameters } = openEngineSession(row, options);
  for (let i = 0; i < timing.warmup; i++) session.step();
  const spec = row.model.kind === 'mnv2' ? { ...row.model.spec, inputScale: INPUT_AFFINE.scale, inputShift: INPUT_AFFINE.shift } : undefined;
  const opened = await reference.open(row.name, timing.warmup, spec);
  if (parameters !== null) checkParameterCounts(row, parameters, opened.parameters);
  const ours: number[][] = [];
  const theirs: number[][] = [];
  for (let round = 0; round < timing.rounds; round++) {
    ours.push(session.time(steps));
    theirs.push(await reference.time(row.name, steps));
  }
  return [{ rounds: ours, loss: session.close() }, { rounds: theirs, loss: await reference.closeSession(row.name) }];
}

/**
 * Prints both throughputs (medians over all steps) and returns the ratio as the
 * median of per-round ratios: each round's engine and PyTorch steps ran seconds
 * apart, so a change of machine load between rounds cancels out.
 */
function report(name: string, unit: string, batch: number, ours: Measured, theirs: Measured): number {
  const oursRate = batch / median(ours.rounds.flat());
  const theirsRate = batch / median(theirs.rounds.flat());
  const ratio = median(ours.rounds.map((r, i) => median(theirs.rounds[i]!) / median(r)));
  console.log(`${name.padEnd(34)} batch ${String(batch).padStart(3)}  ours ${oursRate.toFixed(1).padStart(7)} ${unit}  pytorch ${theirsRate.toFixed(1).padStart(7)} ${unit}` +
    `  (${ours.rounds.flat().length} steps each; final loss ${ours.loss.toFixed(3)} vs ${theirs.loss.toFixed(3)}; load ${load()})`);
  return ratio;
}

async function main(): Promise<void> {
  const options = parseOptions();
  setNumThreads(options.threads);
  const m = options.mobilenet;
  console.log(`libtorch ${libtorchVersion()}, ${getNumThreads()} threads; per model and side ` +
    `${options.warmup} warm-up steps, then ${options.rounds} alternating rounds of ${options.steps} timed steps ` +
    `(mnv2 rows: ${m.warmup}, ${m.rounds} and ${m.steps}; batch-1 rows time 10x the steps); load average ${load()}`);
  console.log(`rows: ${options.rows.map((r) => `${r.name} (batch ${r.batch})`).join(', ')}${options.dispatch ? ', dispatch' : ''}`);
  if (options.rows.some((r) => r.model.kind === 'mnv2')) {
    console.log('mnv2 rows: src/models/image/mobilenet.ts MobileNetV2 width 1.0 as the TFLite importer builds it (ReLU6, TF SAME padding, ' +
      'batch norm with frozen statistics) + a 1000-class linear head, random images; train = forward + cross-entropy + backward + AdamW step, ' +
      'infer = forward without autograd; PyTorch: bench/reference/mobilenet_v2.py');
  }
  console.log('engine allocator: freed tensor memory is kept for reuse (HYPERCLIP_MALLOC=default for glibc\'s policy); ' +
    'PyTorch runs with glibc\'s defaults');
  const reference = await PyTorchReference.start(options.python, options.threads, options.warmup, options);
  try {
    const ratios: string[] = [];
    for (const row of options.rows) {
      const [ours, theirs] = await measure(row, options, reference);
      ratios.push(`${row.name}_ratio=${report(row.name, row.unit, row.batch, ours, theirs).toFixed(2)}`);
    }
    const dispatch = options.dispatch
      ? [dispatchMicroseconds(options.dispatchIterations), await reference.dispatchMicroseconds(options.dispatchIterations)] as const
      : null;
    console.log(`load average at the end: ${load()}`);
    for (const line of ratios) console.log(line);
    if (dispatch !== null) console.log(`dispatch_overhead_us=${dispatch[0].toFixed(2)} (pytorch ${dispatch[1].toFixed(2)})`);
  } finally {
    reference.close();
  }
}

if (isEntryPoint(import.meta.url)) main().catch((err: unknown) => {
  console.error(`bench:engine: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
