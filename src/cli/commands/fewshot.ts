import type { Command } from 'commander';
import path from 'node:path';
import { loadBundle } from '../../bundle/bundle.js';
import { dataRoot, resolveData, type LoaderFiles } from '../../data/index.js';
import type { ClassifierOutput } from '../../deploy/metadata.js';
import { useAllCores, writeFileAtomic } from '../../engine/index.js';
import { checkClassnames, resolveTemplates } from '../../eval/templates.js';
import { descriptionsFromChat } from '../../fewshot/chat-descriptions.js';
import { descriptionsFromFile, descriptionsFromPrompts, descriptionsFromWordNet, type ClassDescriptions } from '../../fewshot/descriptions.js';
import { disposeTextSide, type Conditioning } from '../../fewshot/embed.js';
import { exportFewShotClassifier } from '../../fewshot/export.js';
import { selectedFeatures, type Method } from '../../fewshot/head.js';
import { runFewShot, type FewShotOutcome } from '../../fewshot/run.js';
import { parseShots } from '../../fewshot/shots.js';
import { integer } from '../parse.js';
import { printSummary } from '../progress.js';

interface FewShotCliOptions {
  model?: string;
  classes?: string;
  dataset?: string;
  descriptions: string;
  chatModel?: string;
  shots: string;
  draws: number;
  train?: string;
  test?: string;
  limit?: number;
  conditioning: string;
  baselines?: boolean;
  folds: number;
  templates?: string;
  probabilities: string;
  output?: string;
  show: number;
  json?: boolean;
}

const say = (line: string): void => { process.stderr.write(`${line}\n`); };

export function registerFewShot(program: Command): void {
  program
    .command('fewshot')
    .description('few-shot classifier from class descriptions (SLR-AVD): a sparse logistic regression on image-description similarities')
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--classes <list>', 'comma-separated class names: the order of the .cls indices of shards, or of the class folders of --train (default: their folder names)')
    .option('--dataset <cifar10|cifar100>', 'a named dataset: its classes, CLIP templates, train and test shards')
    .option('--descriptions <source>', 'a JSON file {"class": ["description", ...]}, wordnet, prompts (class prompts only), or the URL of an OpenAI-compatible chat server (e.g. http://127.0.0.1:8080)', 'wordnet')
    .option('--chat-model <name>', 'model name sent to the chat server (ollama needs one)')
    .option('--shots <list>', 'labelled images per class, e.g. 1,2,4,8,16', '16')
    .option('--draws <n>', 'draws of shots per shot count', integer('draws'), 1)
    .option('--train <folder|shards>', 'labelled images to take the shots from: a folder of class folders (photos/cat/*.jpg) or shards (default: the dataset\'s train split)')
    .option('--test <folder|shards>', 'labelled images to score on, with the same classes (default: the dataset\'s test split; else none)')
    .option('--limit <n>', 'score on a seeded sample of n test images', integer('limit'))
    .option('--conditioning <prompts|descriptions>', 'the texts the hypernetwork generates the image encoder from', 'prompts')
    .option('--baselines', 'also fit L1 on class prompts only and an L2 linear probe on the same shots')
    .option('--folds <n>', 'cross-validation folds for the penalty (at most the shots)', integer('folds', 2), 3)
    .option('--templates <clip|simple|file>', 'class-prompt templates (default: the dataset\'s CLIP set, else "a photo of a {}.")')
    .option('--probabilities <kind>', 'classifier output: softmax, sigmoid or logits', 'softmax')
    .option('-o, --output <file>', 'write the classifier of the largest shot count (draw 0) as ONNX, for hyperclip classify')
    .option('--show <n>', 'selected descriptions printed per class', integer('show', 0), 5)
    .option('--json', 'print the results as JSON on stdout (the summary line then goes to stderr)')
    .addHelpText('after', '\nExamples:\n  hyperclip fewshot --dataset cifar10 --descriptions wordnet --shots 1,4,16 --limit 2000\n' +
      `  hyperclip fewshot --dataset cifar100 --descriptions ${path.join(dataRoot(), 'descriptors', 'descriptors_cifar100.json')} --shots 16 -o c100.onnx\n` +
      '  hyperclip fewshot --train photos/ --test photos-test/ --shots 1,4,16 -o photos.onnx   # classes from the folder names\n' +
      '  hyperclip fewshot --classes "cat,dog" --descriptions http://127.0.0.1:8080 --train "my/train-{000..003}.tar" -o pets.onnx')
    .action(async (opts: FewShotCliOptions) => {
      useAllCores();
      const task = taskSource(opts);
      const descriptions = await describeClasses(task.classNames, opts);
      for (const w of descriptions.warnings) say(w);
      const conditioning = oneOf(opts.conditioning, ['prompts', 'descriptions'], 'conditioning') as Conditioning;
      const output = oneOf(opts.probabilities, ['softmax', 'sigmoid', 'logits'], 'probabilities') as ClassifierOutput;
      const shots = parseShots(opts.shots);
      const bundle = loadBundle(opts.model);
      const methods: Method[] = opts.baselines ? ['slr-avd', 'l1-prompts', 'linear-probe'] : ['slr-avd'];
      const outcome = await runFewShot(bundle, {
        descriptions, templates: task.templates, train: task.train, test: task.test, testLimit: opts.limit,
        shots, draws: opts.draws, methods, conditioning, folds: opts.folds, onProgress: say,
      });
      try {
        const selected = selectedFeatures(outcome.final);
        if (!opts.json) printSelections(selected, opts.show, Math.max(...shots));
        let written = '';
        if (opts.output !== undefined) {
          const exported = exportFewShotClassifier(bundle, outcome.final, outcome.side.normParams[conditioning], {
            output, templates: task.templates, descriptionSource: descriptions.source, shots: Math.max(...shots),
          });
          writeFileAtomic(opts.output, [exported.bytes]);
          written = `; ${opts.output} (${exported.kept.length} descriptions kept, ${(exported.bytes.byteLength / 1024).toFixed(0)} KB)`;
        }
        if (opts.json) console.log(JSON.stringify(jsonResult(outcome, descriptions, selected, conditioning), null, 2));
        printSummary(summaryLine(outcome, shots, task.classNames.length) + written, opts.json);
      } finally {
        disposeTextSide(outcome.side);
      }
    });
}

interface TaskSource { classNames: string[]; templates: string[]; train: LoaderFiles; test?: LoaderFiles }

function taskSource(opts: FewShotCliOptions): TaskSource {
  if (opts.classes !== undefined && opts.dataset !== undefined) throw new Error('give either --classes "cat,dog,..." or --dataset cifar10|cifar100, not both');
  if (opts.dataset !== undefined) {
    if (opts.dataset !== 'cifar10' && opts.dataset !== 'cifar100') throw new Error(`--dataset takes cifar10 or cifar100, got "${opts.dataset}"; use --train for your own images`);
    const named = resolveData(`${opts.dataset}:test`, { need: 'labels' });
    const classnames = named.classnames!;
    const labelled = (spec: string) => resolveData(spec, { classnames, need: 'labels' }).source;
    return {
      classNames: classnames, templates: resolveTemplates(opts.templates ?? 'clip', named.clipTemplates),
      train: labelled(opts.train ?? `${opts.dataset}:train`), test: opts.test !== undefined ? labelled(opts.test) : named.source,
    };
  }
  if (opts.train === undefined) {
    throw new Error('give --train: a folder of class folders (photos/cat/*.jpg) or labelled shards with --classes, to take the shots from (or --dataset cifar10|cifar100)');
  }
  // A sparse head tells classes apart: it needs two at least.
  const given = opts.classes === undefined ? undefined : checkClassnames(opts.classes.split(','), '--classes', { minimum: 2 });
  const train = resolveData(opts.train, { classnames: given, need: 'labels' });
  const classNames = checkClassnames(train.classnames!, opts.train, { minimum: 2 });
  // The test data must hold the same classes: a folder's must match them, shards' indices follow them.
  const test = opts.test === undefined ? undefined : resolveData(opts.test, { classnames: classNames, need: 'labels' }).source;
  return { classNames, templates: resolveTemplates(opts.templates ?? (train.clipTemplates === null ? 'simple' : 'clip'), train.clipTemplates), train: train.source, test };
}

async function describeClasses(classNames: string[], opts: FewShotCliOptions): Promise<ClassDescriptions> {
  const source = opts.descriptions;
  if (source === 'wordnet') return descriptionsFromWordNet(classNames);
  if (source === 'prompts') return descriptionsFromPrompts(classNames);
  if (/^https?:\/\//.test(source)) {
    return descriptionsFromChat(classNames, { url: source, model: opts.chatModel, onClass: (done, total) => say(`chat endpoint: described ${done}/${total} classes`) });
  }
  return descriptionsFromFile(source, classNames);
}

function oneOf(value: string, allowed: string[], option: string): string {
  if (!allowed.includes(value)) throw new Error(`--${option} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}

function printSelections(selected: ReturnType<typeof selectedFeatures>, show: number, shots: number): void {
  console.log(`descriptions SLR-AVD selected (${shots} shots, draw 0; weight per standardised feature):`);
  for (const s of selected) {
    const top = s.positive.slice(0, show).map((p) => `${p.text} (${p.weight.toFixed(2)})`);
    const more = s.positive.length > show ? `, +${s.positive.length - show} more` : '';
    console.log(`  ${s.className}: ${top.length === 0 ? '(none)' : top.join('; ')}${more}${s.negative > 0 ? ` [${s.negative} against]` : ''}`);
  }
}

function summaryLine(outcome: FewShotOutcome, shots: number[], classes: number): string {
  const max = Math.max(...shots);
  const scored = outcome.fits.filter((f) => f.method === 'slr-avd' && f.shots === max && f.accuracy !== null);
  if (scored.length === 0) return `fewshot: SLR-AVD fitted on ${max} shots x ${classes} classes, ${outcome.final.model.weight.filter((w) => w !== 0).length} non-zero weights (no --test: not scored)`;
  const mean = scored.reduce((s, f) => s + f.accuracy!, 0) / scored.length;
  return `fewshot: SLR-AVD ${max}-shot top-1 ${(100 * mean).toFixed(2)}% vs zero-shot ${(100 * outcome.zeroShot!).toFixed(2)}% ` +
    `(${outcome.testImages} test images, ${classes} classes, ${scored.length} draw(s))`;
}

function jsonResult(outcome: FewShotOutcome, descriptions: ClassDescriptions, selected: ReturnType<typeof selectedFeatures>, conditioning: Conditioning) {
  return {
    classes: descriptions.classNames, descriptions: descriptions.source, descriptionCount: outcome.side.firstPrompt, conditioning,
    zeroShot: outcome.zeroShot, testImages: outcome.testImages, skipped: outcome.skipped,
    fits: outcome.fits.map(({ method, shots, draw, accuracy, nonZeros, lambda, cv }) => ({ method, shots, draw, accuracy, nonZeros, lambda, cv })),
    selected: Object.fromEntries(selected.map((s) => [s.className, s.positive.map((p) => ({ text: p.text, weight: p.weight }))])),
  };
}
