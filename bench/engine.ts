// `npm run bench:engine`: trains the reference CNN (both memory layouts) and a
// small transformer with the engine and with PyTorch (bench/reference/engine.py
// in a child process), same threads and sizes, alternating engine and PyTorch
// runs so that changing machine load hits both alike; prints each throughput
// ratio (ours / PyTorch) and the small-op dispatch overhead as the last lines.
//   npm run bench:engine -- --quick
//   npm run bench:engine -- --threads 1 --rounds 5
import { availableParallelism, loadavg } from 'node:os';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { getNumThreads, libtorchVersion, setNumThreads } from '../src/engine/index.js';
import { TrainingSession, dispatchMicroseconds, type RunSettings, type TrainingBench } from './engine-runs.js';
import { PyTorchReference } from './reference-client.js';

interface Options extends RunSettings {
  threads: number;
  warmup: number;
  rounds: number;
  steps: number;
  python: string;
  dispatchIterations: number;
}

const BENCHES: Array<[TrainingBench, string]> = [['cnn_contiguous', 'img/s'], ['cnn_channels_last', 'img/s'], ['transformer', 'seq/s']];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

export const cli = (): Command => new Command('bench:engine')
  .description('Engine vs PyTorch: training throughput (MobileNetV2-style CNN in both layouts, pre-LN transformer) and small-op overhead')
  .option('--threads <n>', 'intra-op threads for both sides', String(availableParallelism()))
  .option('--quick', 'fewer steps: finishes within about a minute', false)
  .option('--warmup <n>', 'warm-up steps per model and side (default 2)')
  .option('--rounds <n>', 'alternating engine/PyTorch rounds per model (default 6, quick 2)')
  .option('--steps <n>', 'timed steps per model, side and round (default 3, quick 2)')
  .option('--python <path>', 'python with torch for the reference', '/usr/bin/python3')
  .addHelpText('after', '\nExample:\n  npm run bench:engine -- --quick --threads 2');

function parseOptions(): Options {
  const o = cli().parse(process.argv).opts();
  const int = (value: string, name: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
  const quick = Boolean(o.quick);
  return {
    threads: int(o.threads, 'threads'),
    warmup: int(o.warmup ?? '2', 'warmup'),
    rounds: int(o.rounds ?? (quick ? '2' : '6'), 'rounds'),
    steps: int(o.steps ?? (quick ? '2' : '3'), 'steps'),
    batch: 128,
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

/** Warm-up on both sides, then rounds that alternate engine and PyTorch steps on the same models. */
async function measure(name: TrainingBench, options: Options, reference: PyTorchReference): Promise<[Measured, Measured]> {
  const session = new TrainingSession(name, options);
  for (let i = 0; i < options.warmup; i++) session.step();
  await reference.open(name);
  const ours: number[][] = [];
  const theirs: number[][] = [];
  for (let round = 0; round < options.rounds; round++) {
    ours.push(session.time(options.steps));
    theirs.push(await reference.time(name, options.steps));
  }
  return [{ rounds: ours, loss: session.close() }, { rounds: theirs, loss: await reference.closeSession(name) }];
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
  console.log(`${name.padEnd(18)} ours ${oursRate.toFixed(1).padStart(7)} ${unit}  pytorch ${theirsRate.toFixed(1).padStart(7)} ${unit}` +
    `  (${ours.rounds.flat().length} steps each; final loss ${ours.loss.toFixed(3)} vs ${theirs.loss.toFixed(3)}; load ${load()})`);
  return ratio;
}

async function main(): Promise<void> {
  const options = parseOptions();
  setNumThreads(options.threads);
  console.log(`libtorch ${libtorchVersion()}, ${getNumThreads()} threads; batch ${options.batch}; per model and side ` +
    `${options.warmup} warm-up steps, then ${options.rounds} alternating rounds of ${options.steps} timed steps; load average ${load()}`);
  console.log('engine allocator: freed tensor memory is kept for reuse (HYPERCLIP_MALLOC=default for glibc\'s policy); ' +
    'PyTorch runs with glibc\'s defaults');
  const reference = await PyTorchReference.start(options.python, options.threads, options.warmup, options);
  try {
    const ratios: string[] = [];
    for (const [name, unit] of BENCHES) {
      const [ours, theirs] = await measure(name, options, reference);
      ratios.push(`${name}_ratio=${report(name, unit, options.batch, ours, theirs).toFixed(2)}`);
    }
    const oursUs = dispatchMicroseconds(options.dispatchIterations);
    const theirsUs = await reference.dispatchMicroseconds(options.dispatchIterations);
    console.log(`load average at the end: ${load()}`);
    for (const line of ratios) console.log(line);
    console.log(`dispatch_overhead_us=${oursUs.toFixed(2)} (pytorch ${theirsUs.toFixed(2)})`);
  } finally {
    reference.close();
  }
}

if (isEntryPoint(import.meta.url)) main().catch((err: unknown) => {
  console.error(`bench:engine: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
