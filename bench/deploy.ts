// Deployment figures: generation time for 10, 100 and 1000 ImageNet class
// names (onnxruntime alone, and libtorch); the generated classifier's size,
// batch-1 latency and batch-64 throughput on onnxruntime-node, against the
// unspecialised paths (generator + encoder with norm-parameter inputs, and
// that encoder alone with norm parameters computed beforehand), and against
// the classifier of the previous default model (read from git history), timed
// in the same interleaved rounds.
//   npm run bench:deploy -- --quick [--model DIR] [--no-previous]
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { loadBundle, type Bundle } from '../src/bundle/bundle.js';
import { Tokenizer } from '../src/data/tokenizer/index.js';
import { generateClassifier } from '../src/deploy/generate.js';
import { generateFromFolder } from '../src/deploy/generate-folder.js';
import { readDeployFiles } from '../src/deploy/deploy-files.js';
import { readOnnxInfo } from '../src/deploy/onnx/read.js';
import { openRunner } from '../src/deploy/runtime/node.js';
import { useAllCores } from '../src/engine/index.js';
import { MODEL_FILES } from '../src/models/folder-layout.js';
import { chooseModelDir, deploymentFolder } from './lib/bench-model.js';
import { median, prepareInferencePaths, timeInterleaved } from './lib/inference-paths.js';
import { classifyWith, imageSizeOf, imagenetNames, pixels, templatesOf } from './lib/deploy-inputs.js';
import { PREVIOUS_DEFAULT_COMMIT, openPrevious, reportPrevious, type PreviousModel } from './lib/previous-default.js';

interface DeployBenchOptions { quick?: boolean; model?: string; classes: string; runs?: string; previous: string | false }

const CLASS_COUNTS = [10, 100, 1000];

async function timeGeneration(bundle: Bundle, deployDir: string, templates: string[], repeats: number): Promise<Map<number, { onnx: number; libtorch: number; kb: number }>> {
  const results = new Map<number, { onnx: number; libtorch: number; kb: number }>();
  for (const count of CLASS_COUNTS) {
    const classNames = imagenetNames(count);
    const onnx: number[] = [], libtorch: number[] = [];
    let kb = 0, split = '';
    for (let r = 0; r < repeats; r++) {
      let start = performance.now();
      const fromOnnx = await generateFromFolder(deployDir, { classNames, templates });
      onnx.push((performance.now() - start) / 1000);
      kb = fromOnnx.bytes.byteLength / 1024;
      start = performance.now();
      const fromTorch = generateClassifier(bundle, { classNames, templates });
      libtorch.push((performance.now() - start) / 1000);
      split = `onnxruntime: generator ${fromOnnx.timings.generate.toFixed(3)} s + specialise ${fromOnnx.timings.build.toFixed(3)} s; ` +
        `libtorch: generate ${fromTorch.timings.generate.toFixed(3)} s + trace ${fromTorch.timings.export.toFixed(3)} s`;
    }
    results.set(count, { onnx: median(onnx), libtorch: median(libtorch), kb });
    console.log(`${count} classes: onnxruntime ${median(onnx).toFixed(3)} s, libtorch ${median(libtorch).toFixed(3)} s (median of ${repeats}), classifier ${kb.toFixed(0)} KB`);
    console.log(`  last run: ${split}`);
  }
  return results;
}

async function timeInference(deployDir: string, templates: string[], classes: number, runs: number, previous: PreviousModel | null): Promise<Record<string, number>> {
  const classNames = imagenetNames(classes);
  const generated = await generateFromFolder(deployDir, { classNames, templates });
  const files = readDeployFiles(deployDir);
  const info = readOnnxInfo(files.encoder).metadata;
  const size = imageSizeOf(deployDir);
  const tokenizer = Tokenizer.load(path.join(deployDir, MODEL_FILES.tokenizer));
  const prompts = classNames.flatMap((name) => templates.map((t) => t.replaceAll('{}', name)));
  const { ids, contextLength } = tokenizer.encodeBatch(prompts);
  const paths = await prepareInferencePaths({
    classifier: await openRunner(generated.bytes), generator: await openRunner(files.generator), encoder: await openRunner(files.encoder),
    ids: { data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [classes, templates.length, contextLength] },
    logitScale: Number(info['hyperclip.logit_scale']), logitBias: Number(info['hyperclip.logit_bias']),
  });
  try {
    const one = { data: pixels(1, size), dims: [1, 3, size, size] };
    const batch = { data: pixels(64, size), dims: [64, 3, size, size] };
    // The previous default's classifier runs in the same interleaved rounds, so load drift hits old and new alike.
    const p = previous?.classifier;
    const b1 = await timeInterleaved({
      classifier: () => paths.classifier(one), unspecialised: () => paths.unspecialised(one), encoderOnly: () => paths.encoderOnly(one),
      ...(p === undefined ? {} : { previousClassifier: () => classifyWith(p, p.one) }),
    }, runs, 5);
    const b64 = await timeInterleaved({
      classifier: () => paths.classifier(batch), unspecialised: () => paths.unspecialised(batch), encoderOnly: () => paths.encoderOnly(batch),
      ...(p === undefined ? {} : { previousClassifier: () => classifyWith(p, p.batch) }),
    }, Math.max(3, Math.round(runs / 8)), 2);
    return {
      classifierB1: b1.classifier!, unspecialisedB1: b1.unspecialised!, encoderOnlyB1: b1.encoderOnly!,
      classifierB64: b64.classifier! / 64, unspecialisedB64: b64.unspecialised! / 64, encoderOnlyB64: b64.encoderOnly! / 64,
      ...(p === undefined ? {} : { previousB1: b1.previousClassifier!, previousB64: b64.previousClassifier! / 64, previousKb: p.kb }),
    };
  } finally {
    await paths.release();
    await previous?.classifier.runner.release();
  }
}

export const cli = (): Command => new Command('bench:deploy')
  .option('--quick', 'fewer repeats (about a minute on 2 cores)')
  .option('--model <dir>', 'the model folder (default: models/default, else an untrained tiny-hyperclip)')
  .option('--classes <n>', 'classes of the classifier timed at batch 1 and 64 (first n ImageNet names)', '10')
  .option('--runs <n>', 'timed batch-1 runs per path (default 200, quick 40)')
  .option('--previous <commit>', 'also time the classifier of models/default as it was at this commit (from git history)', PREVIOUS_DEFAULT_COMMIT)
  .option('--no-previous', 'leave out the previous default model');

async function main(): Promise<void> {
  const opts = cli().parse().opts<DeployBenchOptions>();
  const classes = Number(opts.classes), runs = Number(opts.runs ?? (opts.quick ? 40 : 200));
  if (!Number.isInteger(classes) || classes < 1 || classes > 1000) throw new Error(`--classes must be an integer from 1 to 1000, got ${opts.classes}`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${opts.runs}`);
  const threads = useAllCores();
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${threads} libtorch threads; onnxruntime default threads)`);
  const chosen = chooseModelDir(opts.model);
  if (chosen.origin === 'untrained') console.log(`NOTE: no models/default and no --model: measuring an UNTRAINED tiny-hyperclip saved in ${chosen.dir} (same size and speed, meaningless predictions)`);
  const temporary = chosen.origin === 'untrained' ? [chosen.dir] : [];
  try {
    const bundle = loadBundle(chosen.dir);
    const deploy = deploymentFolder(bundle);
    if (deploy.exported) temporary.push(deploy.dir);
    console.log(`model ${bundle.config.name} from ${chosen.dir} (${chosen.origin}); ONNX files ${deploy.exported ? `exported to ${deploy.dir}` : 'shipped with it'}`);
    console.log(`model image size ${imageSizeOf(deploy.dir)} px (${bundle.config.image.family})`);
    const templates = await templatesOf(deploy.dir);
    const generation = await timeGeneration(bundle, deploy.dir, templates, opts.quick ? 1 : 3);
    const previous = opts.previous === false ? null : await openPrevious(opts.previous, classes, temporary);
    const t = await timeInference(deploy.dir, templates, classes, runs, previous);
    report(generation, t, classes, chosen.origin === 'untrained');
    if (opts.previous !== false) reportPrevious(t, classes, previous);
  } finally {
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
  }
}

function report(generation: Map<number, { onnx: number; libtorch: number; kb: number }>, t: Record<string, number>, classes: number, untrained: boolean): void {
  const ms = (s: number): string => (s * 1000).toFixed(2);
  if (untrained) console.log('model=untrained tiny-hyperclip (no models/default): timings and sizes hold, predictions do not');
  console.log(`per image, ${classes} classes: batch 1: classifier ${ms(t.classifierB1!)} ms, generator+encoder ${ms(t.unspecialisedB1!)} ms, encoder alone ${ms(t.encoderOnlyB1!)} ms`);
  console.log(`per image, ${classes} classes: batch 64: classifier ${ms(t.classifierB64!)} ms, generator+encoder ${ms(t.unspecialisedB64!)} ms, encoder alone ${ms(t.encoderOnlyB64!)} ms`);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const [count, g] of generation) console.log(`generate_${count}_onnx_s=${g.onnx.toFixed(3)}`);
  for (const [count, g] of generation) console.log(`generate_${count}_libtorch_s=${g.libtorch.toFixed(3)}`);
  console.log(`classifier_classes=${classes}`);
  console.log(`classifier_kb=${(generation.get(10)!.kb).toFixed(0)}`);
  console.log(`classifier_1000_kb=${(generation.get(1000)!.kb).toFixed(0)}`);
  console.log(`classifier_batch1_ms=${ms(t.classifierB1!)}`);
  console.log(`classifier_batch64_img_per_s=${(1 / t.classifierB64!).toFixed(0)}`);
  console.log(`speedup_vs_encoder_only_batch1=${(t.encoderOnlyB1! / t.classifierB1!).toFixed(2)}`);
  console.log(`speedup_vs_encoder_only_batch64=${(t.encoderOnlyB64! / t.classifierB64!).toFixed(2)}`);
  console.log(`speedup_vs_unspecialised_batch1=${(t.unspecialisedB1! / t.classifierB1!).toFixed(2)}`);
  console.log(`speedup_vs_unspecialised_batch64=${(t.unspecialisedB64! / t.classifierB64!).toFixed(2)}`);
  // The headline takes the less favourable batch size, per image, against generator + encoder.
  console.log(`speedup_vs_unspecialised=${Math.min(t.unspecialisedB1! / t.classifierB1!, t.unspecialisedB64! / t.classifierB64!).toFixed(2)}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:deploy: ${error.message}`);
  process.exit(1);
});
