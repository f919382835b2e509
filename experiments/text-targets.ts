// The text side trained towards the image side's own targets (issue 25: a
// shipped model's image embeddings support about 8 points more Tiny ImageNet
// zero-shot than its text embeddings give; docs/pretrained.md, "Text side or
// image side?"). From a trained model on a pretrained tower:
//   1. embed a seeded sample of the run's own training images (its recipe's
//      sources, held-out classes left out) with the model's image side, the
//      norms generated from ImageNet's allowed class names (held-out synsets
//      removed), and run the imported head on the same pixels;
//   2. fit one unit vector per allowed ImageNet class to the head's soft
//      labels in that space, the logit scale fitted beside them
//      (src/train/class-vector-fit.ts), 10% of the images kept back to score
//      the fit against the head. Each class's teacher mass on the fit images
//      (its summed probability) is recorded with how far its vector moved;
//      --min-mass leaves classes the images barely show out of the targets;
//   3. tune the text encoder towards those vectors, keeping the sampled
//      images' captions (and with --keep-nodes the prompts of WordNet's
//      generic names above those classes) where the model had them
//      (src/train/text-target-tuning.ts), or (--objective distill) tune it
//      so that the prompts, at the fitted scale, reproduce the head on the
//      cached images;
//   4. write the tuned model folder and a record. The images kept back are
//      embedded again with the norms the tuned text generates, to see whether
//      the image side moved.
// The tuning writes a checkpoint into the output folder every
// --checkpoint-every steps; the same command run again after a kill redoes
// the embedding and the fit (1 and 2 above; seeded, so the same targets) and
// goes on from the checkpoint.
// It reads training images only; the tuned folder is judged on validation
// (npm run experiment:validation, hyperclip eval --dataset flickr8k --split val).
//   npm run experiment:text-targets -- --model models/default -o runs/probes/DIR/model
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadBundle, saveBundle } from '../src/bundle/bundle.js';
import { integer, number } from '../src/cli/parse.js';
import { createLoader, imagenetTemplates, labelPhrases, WordNet } from '../src/data/index.js';
import { heldOutClasses } from '../src/data/held-out.js';
import { imagenetClasses } from '../src/data/imagenet-classes.js';
import { AdamW, F, keep, noGrad, setNumThreads, tensor, tidy, writeJsonAtomic, type Tensor } from '../src/engine/index.js';
import { encodeTexts } from '../src/eval/text-features.js';
import { buildClassifier, disposeClassifier } from '../src/eval/zeroshot.js';
import { MODEL_FILES } from '../src/models/index.js';
import { importMobileNetFile, pretrainedFile } from '../src/models/import/pretrained-ref.js';
import { projectRoot } from '../src/project-root.js';
import { fitClassVectors } from '../src/train/class-vector-fit.js';
import { loaderSources } from '../src/train/data-sources.js';
import { checkpointInfo, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { allowedClasses } from '../src/train/distill.js';
import { imagenetDistillNodes } from '../src/train/distill-setup.js';
import { trainableParameters } from '../src/train/param-groups.js';
import { RECIPES } from '../src/train/recipes.js';
import { TEXT_TARGET_OBJECTIVES, tuneTextTowardTargets, type TextTargetObjective, type TextTargetStep, type TextTargetTuningConfig } from '../src/train/text-target-tuning.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';

interface Options {
  model: string; output: string; record?: string; images: number; fitSteps: number; steps: number; classes: number; captions: number;
  keepWeight: number; lr: number; seed: number; threads: number; templates: number; minMass: number; keepNodes: number;
  objective: TextTargetObjective; scale?: number; temperature?: number; imagesPerStep?: number; checkpointEvery: number;
}

/** The tuning's checkpoint, inside the output folder until the tuned model is written there. */
export const CHECKPOINT_FILE = 'text-targets-checkpoint.safetensors';

/** What decides the run's result: a checkpoint is resumed only under the same settings (threads, record and checkpoint spacing do not count). */
function runSettings(opts: Options): Record<string, unknown> {
  const { model, images, fitSteps, steps, classes, captions, keepWeight, lr, seed, templates, minMass, keepNodes, objective, scale, temperature, imagesPerStep } = opts;
  return { model: path.resolve(model), images, fitSteps, steps, classes, captions, keepWeight, lr, seed, templates, minMass, keepNodes, objective, scale, temperature, imagesPerStep };
}

const say = (text: string) => process.stderr.write(`[text-targets ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/** Every part of the model but the text encoder's layers after its word embeddings stays as it is. */
const FROZEN = ['imageEncoder', 'imageProjection', 'hypernet', 'logitScale', 'logitBias', 'textEncoder.tokenEmbedding'];

async function main(opts: Options): Promise<void> {
  setNumThreads(opts.threads);
  const started = Date.now();
  checkOptions(opts);
  const temperature = opts.temperature ?? 1, imagesPerStep = opts.imagesPerStep ?? 256;
  if (existsSync(path.join(opts.output, MODEL_FILES.config))) throw new Error(`${opts.output} already holds a model; name a new folder with -o`);
  const settings = runSettings(opts);
  const checkpointFile = path.join(opts.output, CHECKPOINT_FILE);
  const resumeAfter = existsSync(checkpointFile) ? checkpointInfo(checkpointFile) : null;
  if (resumeAfter !== null) {
    if (JSON.stringify(resumeAfter.extra.settings) !== JSON.stringify(settings)) {
      throw new Error(`${checkpointFile} was written with other settings (${JSON.stringify(resumeAfter.extra.settings)}): rerun that command to resume it, or remove the folder to start again`);
    }
    say(`${checkpointFile}: resuming after step ${resumeAfter.step} of ${opts.steps} once the targets are rebuilt`);
  }
  const bundle = loadBundle(opts.model);
  const model = bundle.model;
  const saved = JSON.parse(readFileSync(path.join(opts.model, MODEL_FILES.config), 'utf8')) as { pretrained?: { part: string; from: string } };
  if (saved.pretrained === undefined || model.hypernet === null) throw new Error(`${opts.model} is not a HyperCLIP model on a pretrained tower (its config.json names no pretrained part, or it has no hypernetwork)`);
  const recipeName = bundle.extra.recipe as string | undefined;
  const recipe = recipeName === undefined ? undefined : RECIPES[recipeName];
  if (recipe === undefined) throw new Error(`${opts.model} names no known recipe (extra.recipe = ${JSON.stringify(recipeName)}): its training images are unknown`);
  const file = pretrainedFile(saved.pretrained.from);
  if (file === null) throw new Error(`${saved.pretrained.from} is not a pretrained network reference`);
  const { classifier: head } = importMobileNetFile(file, `no pretrained network ${file}`, path.basename(file));
  head.eval();

  // The allowed ImageNet classes, named as the distillation names them.
  const names = imagenetClasses();
  const wordnet = WordNet.load();
  const phrases = labelPhrases(names.synonyms, wordnet, { hypernymLevels: 2 });
  const heldOutWnids = heldOutClasses().wnids;
  const allowed = allowedClasses(names.wnids, heldOutWnids);
  const allTemplates = imagenetTemplates();
  if (opts.templates > allTemplates.length) throw new Error(`--templates ${opts.templates}: CLIP's ImageNet set has ${allTemplates.length}`);
  const templates = allTemplates.slice(0, opts.templates);
  say(`${allowed.length} ImageNet classes (held-out synsets removed), ${templates.length} templates; model ${opts.model} (recipe ${recipeName})`);
  const classNames = allowed.map((c) => names.synonyms[c]![0]!);
  const classifier = buildClassifier(bundle, classNames, templates);
  const modelScale = Math.exp(model.logitScale.item());
  const allowedIndex = tensor(BigInt64Array.from(allowed, BigInt), [allowed.length], { dtype: 'int64' });

  const sources = loaderSources(recipe.data);
  const checkCount = Math.max(1, Math.round(opts.images / 10));
  const fitCount = opts.images - checkCount;
  // The kept-back images' pixels stay in memory (a few hundred MB at most), to embed them again after tuning.
  const loader = createLoader({ sources, batchSize: 50, preprocess: bundle.preprocess, shuffle: true, seed: opts.seed ^ 0x5bd1e995, workers: opts.threads });
  const embeddings: Tensor[] = [], teachers: Tensor[] = [], keptPixels: Tensor[] = [], captions: string[] = [];
  try {
    for await (const batch of loader) {
      const take = Math.min(batch.size, opts.images - captions.length);
      const [e, z, p] = noGrad(() => tidy(() => {
        const x = tensor(batch.images, [batch.size, 3, batch.height, batch.width]).narrow(0, 0, take);
        const keptFrom = Math.max(0, fitCount - captions.length);
        return [keep(F.normalize(model.encodeImage(x, classifier.normParams!), -1)), keep(head.forward(x).indexSelect(1, allowedIndex)),
          keptFrom < take ? keep(x.narrow(0, keptFrom, take - keptFrom).clone()) : null];
      }));
      embeddings.push(e!); teachers.push(z!); if (p) keptPixels.push(p);
      captions.push(...batch.captions.slice(0, take));
      if (captions.length % 1000 === 0 || captions.length >= opts.images) say(`training images: ${captions.length}/${opts.images}`);
      if (captions.length >= opts.images) break;
    }
  } finally {
    await loader.close();
  }
  if (captions.length < opts.images) throw new Error(`the recipe's training data holds ${captions.length} images, fewer than --images ${opts.images}`);
  const allEmbeddings = keep(F.cat(embeddings)), allTeacher = keep(F.cat(teachers)), checkPixels = keep(F.cat(keptPixels));
  for (const t of [...embeddings, ...teachers, ...keptPixels]) t.dispose();
  const fitEmbeddings = keep(allEmbeddings.narrow(0, 0, fitCount)), fitTeacher = keep(allTeacher.narrow(0, 0, fitCount));
  const checkEmbeddings = keep(allEmbeddings.narrow(0, fitCount, checkCount)), checkTeacher = keep(allTeacher.narrow(0, fitCount, checkCount));

  const fit = fitClassVectors(fitEmbeddings, fitTeacher, classifier.classEmbeddings, { temperature: 1, scale: modelScale, learnScale: true, steps: opts.fitSteps });
  say(`fit: ${allowed.length} unit vectors on ${fitCount} images, soft cross-entropy ${fit.initialLoss.toFixed(3)} -> ${fit.loss.toFixed(3)}, scale ${modelScale.toFixed(1)} -> ${fit.scale.toFixed(1)}`);
  // How often a set of class vectors picks the head's top class on the images kept back.
  const agreement = (embeddings: Tensor, vectors: Tensor): number => noGrad(() => tidy(() => {
    const picked = embeddings.matmul(vectors.transpose(0, 1)).argmax(1);
    return picked.eq(checkTeacher.argmax(1)).to('float32').mean().item();
  }));
  const before = { modelText: agreement(checkEmbeddings, classifier.classEmbeddings), fitted: agreement(checkEmbeddings, fit.vectors) };
  // Adam moves every vector at about the same pace, so a class the sampled images barely show drifts as far as a
  // well-evidenced one: its teacher mass (summed probability over the fit images) says how much the fit knows of it.
  const mass = Array.from(noGrad(() => F.softmax(fitTeacher, -1).sum(0)).toArray(), Number);
  const moved = Array.from(noGrad(() => fit.vectors.mul(classifier.classEmbeddings).sum(1)).toArray(), Number);
  const evidence = massBins(mass, moved);
  for (const b of evidence) say(`classes with teacher mass ${b.range}: ${b.classes}, mean cosine of the fitted vector to the model's class embedding ${b.meanCosine.toFixed(3)}`);
  const targetClasses = allowed.map((_, i) => i).filter((i) => mass[i]! >= opts.minMass);
  if (targetClasses.length < opts.classes) throw new Error(`--min-mass ${opts.minMass} leaves ${targetClasses.length} target classes, fewer than --classes ${opts.classes}`);
  if (opts.minMass > 0) say(`--min-mass ${opts.minMass}: ${targetClasses.length} of ${allowed.length} classes are targets`);
  const targetIndex = tensor(BigInt64Array.from(targetClasses, BigInt), [targetClasses.length], { dtype: 'int64' });
  const targetVectors = keep(noGrad(() => fit.vectors.indexSelect(0, targetIndex)));
  const targetTeacher = keep(noGrad(() => fitTeacher.indexSelect(1, targetIndex)));
  // The distill objective's scale: the one fitted with the vectors unless --scale names one.
  const distillScale = opts.scale ?? fit.scale;
  const distillSettings = opts.objective === 'distill' ? { scale: distillScale, temperature, imagesPerStep } : {};
  say(`agreement with the head's top class on ${checkCount} images kept back: model text ${(100 * before.modelText).toFixed(2)}%, fitted vectors ${(100 * before.fitted).toFixed(2)}%`);

  // Generic names ("canine", "vehicle": the WordNet nodes the distillation's node tasks use, no held-out word among
  // them) are no targets; with --keep-nodes their prompts join the kept texts so that they stay where the model had them.
  const nodePrompts = opts.keepNodes === 0 ? [] : imagenetDistillNodes(wordnet, names, heldOutWnids).names
    .flatMap((nodeNames) => templates.slice(0, opts.keepNodes).map((t) => t.replaceAll('{}', nodeNames[0]!)));
  if (nodePrompts.length > 0) say(`--keep-nodes ${opts.keepNodes}: ${nodePrompts.length} prompts of WordNet nodes join the ${captions.length} kept captions`);
  const keptTexts = [...captions, ...nodePrompts];
  const captionEmbeddings = encodeTexts(model, bundle.tokenizer, keptTexts);
  const config: TextTargetTuningConfig = {
    objective: opts.objective, steps: opts.steps, classesPerStep: opts.classes, captionsPerStep: opts.captions, keepWeight: opts.keepWeight, lr: opts.lr, gradClip: 1, seed: opts.seed,
  };
  const params = trainableParameters(model, FROZEN).map(([, p]) => p);
  const optimizer = new AdamW(params, { lr: opts.lr, weightDecay: 0 });
  let history: TextTargetStep[] = [];
  if (resumeAfter !== null) {
    history = loadCheckpoint(checkpointFile, model, optimizer).extra.history as TextTargetStep[];
    say(`resumed the text encoder and its optimiser after step ${resumeAfter.step}`);
  }
  mkdirSync(opts.output, { recursive: true });
  const tuneStarted = Date.now();
  const startStep = resumeAfter?.step ?? 0;
  tuneTextTowardTargets(model, bundle.tokenizer, {
    names: targetClasses.map((i) => phrases[allowed[i]!]!), templates, vectors: targetVectors, captions: keptTexts, captionEmbeddings,
    ...(opts.objective === 'distill' ? { teacher: { embeddings: fitEmbeddings, logits: targetTeacher, scale: distillScale, temperature, imagesPerStep } } : {}),
  }, config, optimizer, (s) => {
    history.push(s);
    if (s.step % 50 === 0 || s.step === startStep + 1 || s.step === opts.steps) {
      say(`step ${s.step}/${opts.steps}: loss ${s.loss.toFixed(4)}${opts.objective === 'distill' ? ` (distillation ${s.distillLoss.toFixed(4)})` : ''}, prompt-target cosine ${s.targetCosine.toFixed(3)}, kept-caption cosine ${s.keptCosine.toFixed(3)}, ${((Date.now() - tuneStarted) / 1000 / (s.step - startStep)).toFixed(2)} s/step`);
    }
    if (s.step % opts.checkpointEvery === 0 && s.step < opts.steps) {
      saveCheckpoint(checkpointFile, model, optimizer, { step: s.step, dataState: null, extra: { settings, history } });
      say(`checkpoint after step ${s.step}`);
    }
  }, startStep);
  const tuneSeconds = (Date.now() - tuneStarted) / 1000;

  // The tuned text, and the image side under the norms it now generates, on the images kept back.
  model.eval();
  const tuned = buildClassifier(bundle, classNames, templates);
  const chunks: Tensor[] = [];
  for (let i = 0; i < checkCount; i += 50) {
    chunks.push(noGrad(() => tidy(() => keep(F.normalize(model.encodeImage(checkPixels.narrow(0, i, Math.min(50, checkCount - i)), tuned.normParams!), -1)))));
  }
  const recheckEmbeddings = keep(F.cat(chunks));
  for (const c of chunks) c.dispose();
  const meanCosine = (a: Tensor, b: Tensor) => noGrad(() => a.mul(b).sum(1).mean().item());
  const after = {
    tunedText: agreement(recheckEmbeddings, tuned.classEmbeddings),
    tunedTextOldImages: agreement(checkEmbeddings, tuned.classEmbeddings),
    fittedVectorsNewImages: agreement(recheckEmbeddings, fit.vectors),
    imageCosineToBefore: meanCosine(recheckEmbeddings, checkEmbeddings),
    classCosineToFitted: { before: meanCosine(classifier.classEmbeddings, fit.vectors), after: meanCosine(tuned.classEmbeddings, fit.vectors) },
  };
  say(`after tuning, on the images kept back: tuned text ${(100 * after.tunedText).toFixed(2)}% agreement, fitted vectors on the moved images ${(100 * after.fittedVectorsNewImages).toFixed(2)}%, image embeddings' cosine to before ${after.imageCosineToBefore.toFixed(3)}`);

  saveBundle(opts.output, model, bundle.tokenizer, { ...bundle.extra, textTargets: { from: opts.model, command: commandLine(), ...config, ...distillSettings } }, { pretrained: saved.pretrained });
  rmSync(checkpointFile, { force: true });
  const record = opts.record ?? path.join(projectRoot(), 'runs', 'text-targets', `${path.basename(path.dirname(path.resolve(opts.output)))}.json`);
  mkdirSync(path.dirname(record), { recursive: true });
  const every = Math.max(1, Math.floor(history.length / 40));
  writeJsonAtomic(record, {
    command: commandLine(), date: new Date().toISOString(), model: opts.model, output: opts.output, recipe: recipeName,
    classes: allowed.length, targetClasses: targetClasses.length, minMass: opts.minMass, keptNodePrompts: nodePrompts.length, evidence, images: { fit: fitCount, keptBack: checkCount }, fit: { steps: opts.fitSteps, initialLoss: fit.initialLoss, loss: fit.loss, modelScale, scale: fit.scale },
    agreementWithHead: { before, after }, tuning: { ...config, ...distillSettings, seconds: tuneSeconds, resumedAfter: startStep, history: history.filter((_, i) => i % every === 0 || i === history.length - 1) },
    seconds: (Date.now() - started) / 1000,
  });
  console.log(`text-targets: ${opts.steps - startStep} steps${startStep > 0 ? ` (resumed after step ${startStep})` : ''} in ${tuneSeconds.toFixed(0)} s; head agreement on ${checkCount} kept-back images: model text ${(100 * before.modelText).toFixed(2)}% -> tuned ${(100 * after.tunedText).toFixed(2)}% (fitted vectors ${(100 * before.fitted).toFixed(2)}%); model ${opts.output}; record ${path.relative(process.cwd(), record)}`);
  disposeClassifier(classifier); disposeClassifier(tuned);
  for (const t of [allowedIndex, targetIndex, targetVectors, targetTeacher, allEmbeddings, allTeacher, checkPixels, fitEmbeddings, fitTeacher, checkEmbeddings, checkTeacher, recheckEmbeddings, fit.vectors, captionEmbeddings]) t.dispose();
}

/** Options that could not take effect are refused rather than ignored. */
function checkOptions(opts: Options): void {
  if (opts.objective !== 'distill') {
    const given = (['scale', 'temperature', 'imagesPerStep'] as const).filter((k) => opts[k] !== undefined);
    if (given.length > 0) throw new Error(`--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --objective distill only; drop it or add --objective distill`);
  }
  if (opts.captions === 0 && opts.keepNodes > 0) throw new Error('--keep-nodes needs --captions above 0: the kept texts are drawn --captions at a time');
}

/** Classes binned by teacher mass on the fit images, with the mean cosine between their fitted vector and their start. */
function massBins(mass: number[], cosine: number[]): { range: string; classes: number; meanCosine: number }[] {
  const edges = [0, 1, 10, 100, Infinity];
  return edges.slice(0, -1).map((low, b) => {
    const high = edges[b + 1]!;
    const inside = mass.flatMap((m, k) => (m >= low && m < high ? [cosine[k]!] : []));
    return { range: `[${low}, ${high})`, classes: inside.length, meanCosine: inside.length === 0 ? NaN : inside.reduce((a, c) => a + c, 0) / inside.length };
  }).filter((b) => b.classes > 0);
}

const commandLine = () => ['npm run experiment:text-targets --', ...process.argv.slice(2)].join(' ');

const positive = (option: string) => (value: string): number => {
  const v = number(option)(value);
  if (!(v > 0)) throw new InvalidArgumentError(`--${option} must be positive, got ${value}`);
  return v;
};

const nonNegative = (option: string) => (value: string): number => {
  const v = number(option)(value);
  if (!(v >= 0)) throw new InvalidArgumentError(`--${option} must be 0 or more, got ${value}`);
  return v;
};

export const cli = (): Command => new Command()
  .name('text-targets')
  .description('tune a trained model\'s text encoder towards unit class vectors fitted to the pretrained head in its own image-embedding space')
  .requiredOption('--model <dir>', 'a trained HyperCLIP model folder on a pretrained tower')
  .requiredOption('-o, --output <dir>', 'the tuned model folder (must not hold a model yet)')
  .option('--record <file>', 'the JSON record (default runs/text-targets/<parent folder of -o>.json)')
  .option('--images <n>', 'training images sampled (a tenth kept back to score the fit)', integer('images'), 8000)
  .option('--fit-steps <n>', 'full-batch steps of the vector fit', integer('fit-steps'), 400)
  .option('--steps <n>', 'tuning steps', integer('steps'), 600)
  .option('--classes <n>', 'target classes per tuning step', integer('classes'), 128)
  .option('--captions <n>', 'kept texts per tuning step: captions, and node prompts with --keep-nodes (0: no keep term)', integer('captions', 0), 128)
  .option('--keep-weight <w>', 'weight of the keep term', nonNegative('keep-weight'), 1)
  .option('--lr <lr>', 'peak learning rate of the tuning', positive('lr'), 2e-4)
  .option('--templates <n>', 'the first n of CLIP\'s 80 ImageNet templates: for the class embeddings whose norms embed the images, and the tuning prompts', integer('templates'), 80)
  .option('--min-mass <m>', 'classes whose teacher mass (summed probability over the fit images) is below m are no targets', nonNegative('min-mass'), 0)
  .option('--keep-nodes <n>', 'hold the prompts of WordNet\'s generic names above ImageNet\'s classes (with the first n templates) where they were, beside the captions; 0: captions only', integer('keep-nodes', 0), 0)
  .addOption(new Option('--objective <name>', 'cosine: pull prompts towards the fitted vectors; distill: prompts as a classifier at a fixed scale reproduce the head on the cached fit images').choices([...TEXT_TARGET_OBJECTIVES]).default('cosine'))
  .option('--scale <s>', 'distill: the prompts\' logit scale (default: the scale fitted with the vectors)', positive('scale'))
  .option('--temperature <t>', 'distill: the teacher\'s temperature (default 1)', positive('temperature'))
  .option('--images-per-step <n>', 'distill: cached images per step (default 256)', integer('images-per-step'))
  .option('--seed <n>', 'seed of the image sample and the draws', integer('seed', 0), 0)
  .option('--checkpoint-every <n>', 'write a checkpoint into the output folder every n tuning steps (rerunning the same command resumes from it)', integer('checkpoint-every'), 50)
  .option('--threads <n>', 'libtorch and decoding threads', integer('threads'), 2);

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('text-targets', main)).parseAsync();
