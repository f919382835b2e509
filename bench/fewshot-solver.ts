// The few-shot head's solver on a synthetic problem of CIFAR-100's shape:
// 100 classes, SLR-AVD on 808 description and class-prompt features of
// 128-d embeddings (rank 129, the `factors` path), L1 on the 100 class
// prompts, and an L2 linear probe on 256-d embeddings; 1, 4 and 16 shots per
// class (100, 400, 1600 rows). Each fit is the experiment's: 3-fold
// cross-validation over an 8-penalty path, then the refit on all shots.
// Prints, per fit, the time, the solver's work (penalties solved,
// iterations, line-search backtracks, products with the design), the chosen
// penalty, training and held-out accuracy, and memory (resident now and at
// its peak, the C heap, the engine's live tensors). Times are CPU seconds of
// this process (with --threads 1 about its wall clock on an idle machine),
// then wall clock. --trace adds iterations per penalty of one path on all rows.
// --real DIR fits on CIFAR-100 itself instead: the descriptor file's
// descriptions and class prompts through --model's text side, the first 16
// training images of each class (and 20 test images per class) through its
// image encoder conditioned on the class prompts, all written to DIR the
// first time (minutes) and read from there after.
//   npm run bench:fewshot-solver -- --threads 1 [--shots 1,4,16] [--methods slr-avd,linear-probe] [--repeat 2] [--real /tmp/c100]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { liveTensorCount, mallocStats, setNumThreads } from '../src/engine/index.js';
import { createRng } from '../src/data/random.js';
import { fitHeadOnEmbeddings, headDesign, headLogits, METHODS, type FeatureBasis, type Method } from '../src/fewshot/head.js';
import { argmaxRows, fitPath, lambdaMax, nonZeros, resetSolverCounters, solverCounters } from '../src/fewshot/logistic.js';
import { logSpaced } from '../src/fewshot/cross-validate.js';

const CLASSES = 100;
const DESCRIPTIONS = 708; // + 100 class prompts = 808 features

interface Problem { basis: FeatureBasis; classNames: string[]; pool: Float32Array; poolLabels: Int32Array; test: Float32Array; testLabels: Int32Array }

/** Unit vectors: class centres, descriptions near their class's centre, images further from it. */
function synthetic(method: Method, dim: number, seed: number, perClass: number, testPerClass: number): Problem {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const unit = (centre: Float32Array | null, spread: number): Float32Array => {
    const v = Float32Array.from({ length: dim }, (_, e) => (centre === null ? 0 : centre[e]!) + spread * gauss() / Math.sqrt(dim));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const centres = Array.from({ length: CLASSES }, () => unit(null, 1));
  const classNames = Array.from({ length: CLASSES }, (_, k) => `class ${k}`);
  let basis: FeatureBasis;
  if (method === 'linear-probe') {
    const b = new Float32Array(dim * dim);
    for (let i = 0; i < dim; i++) b[i * dim + i] = 1;
    basis = { names: Array.from({ length: dim }, (_, i) => `image embedding ${i}`), owner: new Int32Array(dim).fill(-1), basis: b, dim };
  } else {
    const owners = [...Array.from({ length: DESCRIPTIONS }, (_, i) => i % CLASSES), ...Array.from({ length: CLASSES }, (_, k) => k)];
    const rows = owners.map((k, i) => unit(centres[k]!, i < DESCRIPTIONS ? 1.2 : 0.6));
    const from = method === 'slr-avd' ? 0 : DESCRIPTIONS;
    const kept = rows.slice(from);
    const b = new Float32Array(kept.length * dim);
    kept.forEach((r, i) => b.set(r, i * dim));
    basis = { names: kept.map((_, i) => `text ${from + i}`), owner: Int32Array.from(owners.slice(from)), basis: b, dim };
  }
  const images = (per: number) => {
    const out = new Float32Array(per * CLASSES * dim);
    const labels = new Int32Array(per * CLASSES);
    for (let i = 0; i < per * CLASSES; i++) {
      labels[i] = i % CLASSES;
      out.set(unit(centres[i % CLASSES]!, 3), i * dim);
    }
    return { out, labels };
  };
  const pool = images(perClass), test = images(testPerClass);
  return { basis, classNames, pool: pool.out, poolLabels: pool.labels, test: test.out, testLabels: test.labels };
}

/** CIFAR-100 through a model's text and image side (--real): cached in dir as raw float32 arrays and a JSON index. */
async function real(dir: string, modelDir: string, method: Method, perClass: number): Promise<Problem> {
  const index = path.join(dir, 'index.json');
  if (!existsSync(index)) {
    const { loadBundle } = await import('../src/bundle/bundle.js');
    const { resolveDataset, dataRoot } = await import('../src/data/index.js');
    const { descriptionsFromFile } = await import('../src/fewshot/descriptions.js');
    const { buildTextSide, disposeTextSide, embedEncoded, embedShards } = await import('../src/fewshot/embed.js');
    const { readShotPool } = await import('../src/fewshot/shots.js');
    const bundle = loadBundle(modelDir);
    const train = resolveDataset('cifar100', 'train'), test = resolveDataset('cifar100', 'test');
    const { classnames, templates } = test.caption as { classnames: string[]; templates: string[] };
    const descriptions = descriptionsFromFile(path.join(dataRoot(), 'descriptors', 'descriptors_cifar100.json'), classnames);
    const side = buildTextSide(bundle, descriptions, templates);
    const say = (line: string) => process.stderr.write(`--real: ${line}\n`);
    const pool = await readShotPool({ shards: train.shards }, classnames, 16, (n) => say(`read ${n} training samples`));
    const order = pool.byClass.flat();
    const params = side.normParams.prompts;
    const shots = await embedEncoded(bundle, order.map((i) => pool.images[i]!), Int32Array.from(order, (i) => pool.labels[i]!), [params], (n) => say(`embedded ${n} shots`));
    const held = await embedShards(bundle, { shards: test.shards }, classnames, [params], 20 * classnames.length, (n) => say(`embedded ${n} test images`));
    mkdirSync(dir, { recursive: true });
    const save = (name: string, a: Float32Array | Int32Array) => writeFileSync(path.join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    save('texts.f32', side.embeddings);
    save('owner.i32', side.owner);
    save('shots.f32', shots.embeddings.get(params)!);
    save('shot-labels.i32', shots.labels);
    save('test.f32', held.embeddings.get(params)!);
    save('test-labels.i32', held.labels);
    writeFileSync(index, JSON.stringify({ model: modelDir, dim: side.dim, firstPrompt: side.firstPrompt, classNames: classnames, texts: side.texts }) + '\n');
    disposeTextSide(side);
  }
  const meta = JSON.parse(readFileSync(index, 'utf8')) as { dim: number; firstPrompt: number; classNames: string[]; texts: string[] };
  const load = <T>(name: string, make: (b: ArrayBuffer) => T): T => { const b = readFileSync(path.join(dir, name)); return make(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
  const texts = load('texts.f32', (b) => new Float32Array(b)), owner = load('owner.i32', (b) => new Int32Array(b));
  const shots = load('shots.f32', (b) => new Float32Array(b)), shotLabels = load('shot-labels.i32', (b) => new Int32Array(b));
  const E = meta.dim, K = meta.classNames.length;
  let basis: FeatureBasis;
  if (method === 'linear-probe') {
    const b = new Float32Array(E * E);
    for (let i = 0; i < E; i++) b[i * E + i] = 1;
    basis = { names: Array.from({ length: E }, (_, i) => `image embedding ${i}`), owner: new Int32Array(E).fill(-1), basis: b, dim: E };
  } else {
    const from = method === 'slr-avd' ? 0 : meta.firstPrompt;
    basis = { names: meta.texts.slice(from), owner: owner.slice(from), basis: texts.slice(from * E), dim: E };
  }
  // Shots are stored class by class, 16 each: the first perClass of each class.
  const rows = Array.from({ length: K }, (_, k) => Array.from({ length: perClass }, (_, i) => k * 16 + i)).flat();
  const pool = new Float32Array(rows.length * E);
  rows.forEach((r, i) => pool.set(shots.subarray(r * E, (r + 1) * E), i * E));
  return {
    basis, classNames: meta.classNames, pool, poolLabels: Int32Array.from(rows, (r) => shotLabels[r]!),
    test: load('test.f32', (b) => new Float32Array(b)), testLabels: load('test-labels.i32', (b) => new Int32Array(b)),
  };
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
/** The process's peak resident memory so far (Linux), in bytes; 0 elsewhere. */
function peakRss(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

function memory(): string {
  const m = process.memoryUsage(), heap = mallocStats();
  return `rss ${mb(m.rss)} MB, peak ${mb(peakRss())} MB (V8 heap ${mb(m.heapUsed)}, C heap ${mb(heap.inUse)} + free ${mb(heap.free)}), ${liveTensorCount()} live tensors`;
}

/** CPU seconds (user + system) of this process since a process.cpuUsage() reading: the machine is shared, so wall clock says less. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

const accuracyOf = (scores: Float64Array, labels: Int32Array) => argmaxRows(scores, CLASSES).reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0) / labels.length;

interface Options { threads: number; shots: string; methods: string; repeat: number; trace?: boolean; seed: number; real?: string; model: string; quick?: boolean }

async function main(opts: Options): Promise<void> {
  setNumThreads(opts.threads);
  // A smoke run (never a measurement): the cheapest method at 1 shot.
  const shots = opts.quick === true ? [1] : opts.shots.split(',').map(Number);
  const methods = (opts.quick === true ? ['l1-prompts'] : opts.methods.split(',')) as Method[];
  for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}`);
  console.log(`threads ${opts.threads}; ${memory()}`);
  for (const method of methods) {
    const dim = method === 'linear-probe' ? 256 : 128;
    for (const n of shots) {
      const problem = opts.real === undefined ? synthetic(method, dim, opts.seed, n, 20) : await real(opts.real, opts.model, method, n);
      const rows = n * CLASSES;
      for (let r = 0; r < opts.repeat; r++) {
        const rssBefore = process.memoryUsage().rss;
        resetSolverCounters();
        const started = performance.now(), cpu = process.cpuUsage();
        const head = fitHeadOnEmbeddings(method, problem.basis, problem.classNames, problem.pool, problem.poolLabels, { seed: 0 });
        const seconds = (performance.now() - started) / 1000, cpuSeconds = cpuSince(cpu);
        const { solves, iterations, backtracks, products } = solverCounters;
        const train = accuracyOf(headLogits(head, problem.pool, rows), problem.poolLabels);
        const test = accuracyOf(headLogits(head, problem.test, problem.testLabels.length), problem.testLabels);
        console.log(`${method} ${problem.basis.names.length} features, ${rows} rows (${n}-shot) run ${r}: ${cpuSeconds.toFixed(2)} s CPU (${seconds.toFixed(2)} s wall); ` +
          `${solves} solves, ${iterations} iterations, ${backtracks} backtracks, ${products} products; ` +
          `lambda ${head.model.lambda.toPrecision(4)} (index ${head.cv.chosenIndex}, ${head.cv.fallback ?? `${head.cv.folds}-fold`}), ${nonZeros(head.model)} non-zeros, ` +
          `train ${(100 * train).toFixed(1)}%, test ${(100 * test).toFixed(2)}%; cv accuracy ${head.cv.accuracy.map((a) => a.toFixed(3)).join(' ')}; ` +
          `${memory()} (rss +${mb(process.memoryUsage().rss - rssBefore)} MB)`);
      }
      if (opts.trace) {
        const { data } = headDesign(problem.basis, CLASSES, problem.pool, problem.poolLabels);
        const l1 = method !== 'linear-probe';
        const lambdas = l1 ? logSpaced(lambdaMax(data), lambdaMax(data) * 1e-2, 8) : logSpaced(10, 1e-3, 8);
        resetSolverCounters();
        const started = performance.now(), cpu = process.cpuUsage();
        const path = fitPath(data, lambdas, { penalty: l1 ? 'l1' : 'l2', tolerance: 1e-6, relativeTolerance: 2e-2, maxIterations: 1000 });
        console.log(`  trace ${method} ${rows} rows, one path on all rows: ${cpuSince(cpu).toFixed(2)} s CPU (${((performance.now() - started) / 1000).toFixed(2)} s wall), ` +
          `${solverCounters.backtracks} backtracks, ${solverCounters.products} products; per penalty: ` +
          path.map((m) => `${m.lambda.toPrecision(3)}: ${m.iterations}${m.converged ? '' : '!'} it, ${nonZeros(m)} nz`).join('; '));
      }
    }
  }
}

export const cli = (): Command => new Command('bench:fewshot-solver')
  .option('--threads <n>', 'libtorch threads', (v) => Number(v), 1)
  .option('--quick', 'a smoke run, not a measurement: l1-prompts at 1 shot only')
  .option('--shots <list>', 'shots per class (x 100 classes = rows)', '1,4,16')
  .option('--methods <list>', 'slr-avd, l1-prompts, linear-probe', 'slr-avd,l1-prompts,linear-probe')
  .option('--repeat <n>', 'fits per problem (memory across repeated fits)', (v) => Number(v), 1)
  .option('--seed <n>', 'synthetic data seed', (v) => Number(v), 1)
  .option('--trace', 'also iterations per penalty of one path on all rows')
  .option('--real <dir>', 'CIFAR-100 embedded by --model instead of synthetic data (cached in dir)')
  .option('--model <dir>', 'model folder for --real', 'models/default');
if (isEntryPoint(import.meta.url)) {
  const program = cli();
  program.parse(process.argv);
  main(program.opts<Options>()).catch((err: Error) => {
    process.stderr.write(`bench:fewshot-solver: ${err.message}\n`);
    process.exit(1);
  });
}
