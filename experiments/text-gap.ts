// Where does a trained model lose against its pretrained head: in the image
// embedding or in the text side? For Tiny ImageNet's classes this embeds a
// seeded sample of train images and of val images with the model's image side
// (norms generated from the class names, as deployed) and runs the imported
// head on the same pixels. It then fits, on the train images only and from
// the head's soft labels only (no label is read), one unit vector per class
// in the model's image-embedding space: the best the text side could reach
// with this image side in the model's cosine form. On the val images it
// prints the zero-shot top-1 of the model's own class embeddings, of those
// fitted vectors and of the head, for all classes and for the held-out names'
// classes, and how close each class's text embedding is to its fitted vector.
// The fits differ in the teacher's temperature and in whether the logit scale
// is the model's own or fitted with the vectors: a scale too low for the
// teacher's sharpness caps what unit vectors can match.
// It reads validation and training splits only.
//   npm run experiment:text-gap -- --model models/default [--fit 4000] [--val 2000]
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { integer, number } from '../src/cli/parse.js';
import { loadBundle } from '../src/bundle/bundle.js';
import { createLoader, resolveDataset, type DatasetSource } from '../src/data/index.js';
import { heldOutClasses } from '../src/data/held-out.js';
import { imagenetIndexOfTinyImagenetClasses } from '../src/data/imagenet-classes.js';
import { F, keep, noGrad, setNumThreads, tensor, tidy, writeJsonAtomic, type Tensor } from '../src/engine/index.js';
import { buildClassifier, disposeClassifier } from '../src/eval/zeroshot.js';
import { importMobileNetFile, pretrainedFile } from '../src/models/import/pretrained-ref.js';
import { projectRoot } from '../src/project-root.js';
import { fitClassVectors } from '../src/train/class-vector-fit.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';

interface Options { model: string; network: string; fit: number; val: number; steps: number; threads: number; temperatures: number[]; scales: number[]; out?: string }

const say = (text: string) => process.stderr.write(`text-gap: ${text}\n`);

interface Embedded { embeddings: Tensor; teacher: Tensor; labels: Int32Array }
interface Fit { name: string; temperature: number; scale: number; initialLoss: number; loss: number; vectors: Tensor }
interface Top1 { all: number; heldOut: number; seen: number }

async function main(opts: Options): Promise<void> {
  setNumThreads(opts.threads);
  const started = Date.now();
  const bundle = loadBundle(opts.model);
  bundle.model.eval();
  const file = pretrainedFile(`pretrained:${opts.network}`)!;
  const { classifier: head } = importMobileNetFile(file, `no pretrained network ${file}`, path.basename(file));
  head.eval();
  const headClassOf = imagenetIndexOfTinyImagenetClasses();
  const headIndex = tensor(BigInt64Array.from(headClassOf, BigInt), [headClassOf.length], { dtype: 'int64' });
  const val = resolveDataset('tiny-imagenet', 'val');
  const train = resolveDataset('tiny-imagenet', 'train');
  const caption = val.caption as { classnames: string[]; templates: string[] };
  if (caption.classnames.length !== headClassOf.length) throw new Error(`${caption.classnames.length} class names for ${headClassOf.length} wnids`);
  const classifier = buildClassifier(bundle, caption.classnames, caption.templates);
  const scale = Math.exp(bundle.model.logitScale.item());

  const embed = async (source: DatasetSource, limit: number, seed: number, what: string): Promise<Embedded> => {
    const loader = createLoader({ sources: [{ shards: source.shards, caption: source.caption }], batchSize: 50, preprocess: bundle.preprocess, shuffle: true, seed, epochs: 1, workers: opts.threads });
    const embeddings: Tensor[] = [], teacher: Tensor[] = [], labels: number[] = [];
    try {
      for await (const batch of loader) {
        const take = Math.min(batch.size, limit - labels.length);
        const [e, z] = noGrad(() => tidy(() => {
          const x = tensor(batch.images, [batch.size, 3, batch.height, batch.width]).narrow(0, 0, take);
          return [keep(F.normalize(bundle.model.encodeImage(x, classifier.normParams ?? undefined), -1)), keep(head.forward(x).indexSelect(1, headIndex))];
        }));
        embeddings.push(e!); teacher.push(z!); labels.push(...Array.from(batch.labels!.subarray(0, take)));
        if (labels.length % 500 === 0 || labels.length >= limit) say(`${what}: ${labels.length}/${limit} images`);
        if (labels.length >= limit) break;
      }
    } finally {
      await loader.close();
    }
    const out = { embeddings: keep(F.cat(embeddings)), teacher: keep(F.cat(teacher)), labels: Int32Array.from(labels) };
    for (const t of [...embeddings, ...teacher]) t.dispose();
    return out;
  };
  const fitSet = await embed(train, opts.fit, 11, 'train images (for the fit)');
  const valSet = await embed(val, opts.val, 7, 'val images');

  // Unit class vectors in the model's embedding space whose softmax over the classes matches the head's
  // (softened by a temperature) on the train images, at the model's own logit scale or at one fitted beside them.
  const fitVectors = (temperature: number, learnScale: boolean, fixedScale = scale): Fit => {
    const fit = fitClassVectors(fitSet.embeddings, fitSet.teacher, classifier.classEmbeddings, { temperature, scale: fixedScale, learnScale, steps: opts.steps });
    const scaleName = learnScale ? 'fitted' : fixedScale === scale ? 'the model\'s' : 'fixed';
    const name = `fitted unit vectors, teacher temperature ${temperature}, ${scaleName} scale`;
    say(`${name}: soft cross-entropy ${fit.loss.toFixed(4)} after ${opts.steps} steps`);
    return { name, temperature, ...fit };
  };
  const fits = [...opts.temperatures.map((t) => fitVectors(t, false)), ...opts.scales.map((s) => fitVectors(1, false, s)), fitVectors(1, true)];

  const heldOut = new Set(heldOutClasses().indices);
  const top1 = (scores: Tensor): Top1 => {
    const predicted = Array.from(noGrad(() => scores.argmax(1)).toArray() as ArrayLike<number | bigint>, Number);
    const tally = { all: [0, 0], heldOut: [0, 0], seen: [0, 0] };
    valSet.labels.forEach((label, i) => {
      const right = predicted[i] === label ? 1 : 0;
      for (const key of ['all', heldOut.has(label) ? 'heldOut' : 'seen'] as const) { tally[key][0]! += right; tally[key][1]!++; }
    });
    return { all: tally.all[0]! / tally.all[1]!, heldOut: tally.heldOut[0]! / tally.heldOut[1]!, seen: tally.seen[0]! / tally.seen[1]! };
  };
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cosineToText = (fitted: Tensor) => {
    const cosines = Array.from(noGrad(() => classifier.classEmbeddings.mul(fitted).sum(1)).toArray() as ArrayLike<number>, Number);
    return { all: meanOf(cosines), heldOut: meanOf(cosines.filter((_, c) => heldOut.has(c))), seen: meanOf(cosines.filter((_, c) => !heldOut.has(c))) };
  };
  const model = top1(noGrad(() => valSet.embeddings.matmul(classifier.classEmbeddings.transpose(0, 1))));
  const headTop1 = top1(valSet.teacher);
  const fitRows = fits.map((f) => ({
    name: f.name, temperature: f.temperature, scale: f.scale, initialLoss: f.initialLoss, fitLoss: f.loss,
    top1: top1(noGrad(() => valSet.embeddings.matmul(f.vectors.transpose(0, 1)))), textToFittedCosine: cosineToText(f.vectors),
  }));
  const out = opts.out ?? path.join(projectRoot(), 'runs', 'text-gap', `${path.basename(path.resolve(opts.model))}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  const command = ['npm run experiment:text-gap --', ...process.argv.slice(2)].join(' ');
  writeJsonAtomic(out, {
    command, date: new Date().toISOString(), model: opts.model, network: opts.network, classes: headClassOf.length,
    fitImages: fitSet.labels.length, valImages: valSet.labels.length, fitSteps: opts.steps, modelScale: scale,
    top1: { model, head: headTop1 }, fits: fitRows,
    seconds: (Date.now() - started) / 1000,
  });
  const line = (name: string, r: Top1) => console.log(`${name}: all ${(100 * r.all).toFixed(2)}%, seen classes ${(100 * r.seen).toFixed(2)}%, held-out classes ${(100 * r.heldOut).toFixed(2)}%`);
  line('model text embeddings', model);
  for (const f of fitRows) line(`${f.name} (${f.scale.toFixed(1)}), mean cosine to the text embedding ${f.textToFittedCosine.all.toFixed(3)}`, f.top1);
  line("pretrained head, same pixels", headTop1);
  const best = Math.max(...fitRows.map((f) => f.top1.all));
  console.log(`text-gap: ${valSet.labels.length} Tiny ImageNet val images, ${headClassOf.length} classes: model ${(100 * model.all).toFixed(2)}%, best fitted vectors ${(100 * best).toFixed(2)}%, head ${(100 * headTop1.all).toFixed(2)}%; record ${path.relative(process.cwd(), out)}`);
  disposeClassifier(classifier);
  for (const t of [headIndex, fitSet.embeddings, fitSet.teacher, valSet.embeddings, valSet.teacher, ...fits.map((f) => f.vectors)]) t.dispose();
}

const positiveList = (option: string, example: string) => (value: string): number[] => {
  if (value.trim() === '') return [];
  const list = value.split(',').map((v) => number(option)(v));
  if (list.some((t) => !(t > 0 && t <= 1000))) throw new InvalidArgumentError(`--${option} takes numbers in (0, 1000], e.g. ${example}; got ${JSON.stringify(value)}`);
  return list;
};

export const cli = (): Command => new Command()
  .name('text-gap')
  .description('zero-shot on Tiny ImageNet val with the model\'s class embeddings against unit vectors fitted to the pretrained head in the model\'s own image-embedding space')
  .requiredOption('--model <dir>', 'a trained model folder on a pretrained tower')
  .option('--network <name>', 'the pretrained head (a .tflite file of the data folder\'s pretrained/, without extension)', 'mobilenet_v2_1.0_224_quant')
  .option('--fit <n>', 'Tiny ImageNet train images the vectors are fitted on (a seeded sample)', integer('fit'), 4000)
  .option('--val <n>', 'Tiny ImageNet val images scored (a seeded sample)', integer('val'), 2000)
  .option('--steps <n>', 'full-batch optimiser steps of the fit', integer('steps'), 400)
  .option('--temperatures <list>', 'teacher temperatures of the fits at the model\'s logit scale (one more fit learns the scale at temperature 1)', positiveList('temperatures', '1,2,4'), [1, 2, 4])
  .option('--scales <list>', 'fixed logit scales of more fits at teacher temperature 1 (none by default)', positiveList('scales', '30,50,100'), [])
  .option('--threads <n>', 'libtorch and decoding threads', integer('threads'), 2)
  .option('--out <file>', 'the JSON record (default runs/text-gap/<model folder>.json)');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('text-gap', main)).parseAsync();
