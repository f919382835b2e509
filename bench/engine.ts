// `npm run bench:engine`: trains the reference CNN (both memory layouts) and a
// small transformer with the engine and with PyTorch (bench/reference/engine.py,
// in a child process, one after the other), same threads, same data sizes, and
// prints each throughput ratio (ours / PyTorch) as the last lines.
//   npm run bench:engine -- --quick
//   npm run bench:engine -- --threads 1 --steps 20
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import {
  AdamW, F, Module, getNumThreads, libtorchVersion, manualSeed, ones, randint, randn, setNumThreads, tidy, type Tensor,
} from '../src/engine/index.js';
import { MobileNetV2 } from './models/mobilenet.js';
import { Transformer } from './models/transformer.js';

interface Options {
  threads: number;
  warmup: number;
  steps: number;
  batch: number;
  seq: number;
  vocab: number;
  python: string;
  dispatchIterations: number;
}

interface RunResult {
  step_seconds: number[];
  loss: number;
}

type BenchName = 'cnn_contiguous' | 'cnn_channels_last' | 'transformer';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Times warm-up + timed Adam steps of model on fixed inputs; every step's tensors are released by tidy. */
function timeTraining(model: Module & { forward(x: Tensor): Tensor }, inputs: Tensor, targets: Tensor,
  loss: (out: Tensor, targets: Tensor) => Tensor, options: Options): RunResult {
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0 }); // = Adam
  const step = (): number => tidy(() => {
    optimizer.zeroGrad();
    const value = loss(model.forward(inputs), targets);
    value.backward();
    optimizer.step();
    return 0;
  });
  for (let i = 0; i < options.warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < options.steps; i++) {
    const start = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const final = tidy(() => loss(model.forward(inputs), targets).item());
  return { step_seconds: times, loss: final };
}

function benchCnn(options: Options, channelsLast: boolean): RunResult {
  manualSeed(0);
  const model = new MobileNetV2(10);
  let images = randn([options.batch, 3, 32, 32]); // [B, 3, 32, 32]
  const labels = randint(0, 10, [options.batch]); // [B]
  if (channelsLast) {
    model.toMemoryFormat('channels-last');
    const converted = images.contiguous('channels-last');
    images.dispose();
    images = converted;
  }
  const result = timeTraining(model, images, labels, (logits, y) => F.crossEntropy(logits, y), options);
  for (const t of [images, labels]) t.dispose();
  model.dispose();
  return result;
}

function benchTransformer(options: Options): RunResult {
  manualSeed(0);
  const model = new Transformer(options.vocab, options.seq);
  const ids = randint(0, options.vocab, [options.batch, options.seq]); // [B, T]
  const targets = randint(0, options.vocab, [options.batch * options.seq]); // [B*T]
  const loss = (logits: Tensor, y: Tensor) => F.crossEntropy(logits.reshape([-1, options.vocab]), y);
  const result = timeTraining(model, ids, targets, loss, options);
  for (const t of [ids, targets]) t.dispose();
  model.dispose();
  return result;
}

/** Microseconds per `c = a + b; dispose c` on 1-element tensors. */
function benchDispatch(iterations: number): number {
  const a = ones([1]);
  const b = ones([1]);
  for (let i = 0; i < 1000; i++) a.add(b).dispose();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) a.add(b).dispose();
  const us = Number(process.hrtime.bigint() - start) / 1e3 / iterations;
  a.dispose();
  b.dispose();
  return us;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const referenceScript = (): string => path.resolve(here, '../../bench/reference/engine.py');

/** Runs the PyTorch reference for the named parts and returns its parsed JSON. */
function runReference(options: Options, only: string[]): Record<string, unknown> {
  const args = [referenceScript(), '--threads', String(options.threads), '--warmup', String(options.warmup),
    '--steps', String(options.steps), '--batch', String(options.batch), '--seq', String(options.seq),
    '--vocab', String(options.vocab), '--dispatch-iterations', String(options.dispatchIterations), '--only', only.join(',')];
  let stdout: string;
  try {
    stdout = execFileSync(options.python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`the PyTorch reference failed (${options.python} ${path.relative(process.cwd(), args[0]!)}): ` +
      `${stderr.trim().split('\n').pop()}. It needs Debian's python3-torch: run \`bash scripts/setup.sh\` or pass --python PATH`);
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

function parseOptions(): Options & { quick: boolean } {
  const program = new Command('bench:engine')
    .description('Engine vs PyTorch training throughput (MobileNetV2-style CNN both layouts, transformer) and dispatch overhead')
    .option('--threads <n>', 'intra-op threads for both sides', String(availableParallelism()))
    .option('--quick', 'few steps: finishes within about a minute', false)
    .option('--warmup <n>', 'warm-up steps per model')
    .option('--steps <n>', 'timed steps per model')
    .option('--python <path>', 'python with torch for the reference', '/usr/bin/python3')
    .addHelpText('after', '\nExample:\n  npm run bench:engine -- --quick --threads 2');
  program.parse(process.argv);
  const o = program.opts();
  const int = (value: string, name: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
  const quick = Boolean(o.quick);
  return {
    quick,
    threads: int(o.threads, 'threads'),
    warmup: int(o.warmup ?? (quick ? '1' : '3'), 'warmup'),
    steps: int(o.steps ?? (quick ? '3' : '15'), 'steps'),
    batch: 128,
    seq: 16,
    vocab: 512,
    python: o.python,
    dispatchIterations: quick ? 20000 : 200000,
  };
}

function report(name: string, unit: string, batch: number, ours: RunResult, theirs: RunResult): number {
  const oursRate = batch / median(ours.step_seconds);
  const theirsRate = batch / median(theirs.step_seconds);
  console.log(`${name.padEnd(18)} ours ${oursRate.toFixed(1).padStart(7)} ${unit}  pytorch ${theirsRate.toFixed(1).padStart(7)} ${unit}` +
    `  (median of ${ours.step_seconds.length} steps; loss ${ours.loss.toFixed(3)} vs ${theirs.loss.toFixed(3)})`);
  return oursRate / theirsRate;
}

function main(): void {
  const options = parseOptions();
  setNumThreads(options.threads);
  console.log(`engine: libtorch ${libtorchVersion()}, ${getNumThreads()} threads; batch ${options.batch}, ` +
    `${options.warmup} warm-up + ${options.steps} timed steps; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const ratios: Record<string, number> = {};
  const runs: Array<[BenchName, string, number, () => RunResult]> = [
    ['cnn_contiguous', 'img/s', options.batch, () => benchCnn(options, false)],
    ['cnn_channels_last', 'img/s', options.batch, () => benchCnn(options, true)],
    ['transformer', 'seq/s', options.batch, () => benchTransformer(options)],
  ];
  for (const [name, unit, batch, run] of runs) {
    const ours = run();
    const theirs = runReference(options, [name])[name] as RunResult;
    ratios[name] = report(name, unit, batch, ours, theirs);
  }
  const oursUs = benchDispatch(options.dispatchIterations);
  const theirsUs = runReference(options, ['dispatch']).dispatch_us as number;
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const [name, ratio] of Object.entries(ratios)) console.log(`${name}_ratio=${ratio.toFixed(2)}`);
  console.log(`dispatch_overhead_us=${oursUs.toFixed(2)} (pytorch ${theirsUs.toFixed(2)})`);
}

try {
  main();
} catch (err) {
  console.error(`bench:engine: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
