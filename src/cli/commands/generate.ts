import type { Command } from 'commander';
import { HyperclipModel, type Engine } from '../../api/model.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { CheckedClassNames, readCheckedClassnames, resolveTemplates } from '../../eval/templates.js';
import type { ClassifierOutput } from '../../deploy/metadata.js';
import { integer } from '../parse.js';
import { checkNamePhrases, NAME_PHRASES, namePhrases } from '../../eval/name-phrases.js';
import { DEFAULT_CALIBRATION_IMAGES, int8Request, quantizeGenerated, type Int8CliOptions } from './generate-int8.js';

interface GenerateCliOptions extends Int8CliOptions {
  classes?: string;
  classesFile?: string;
  templates?: string;
  model?: string;
  engine: string;
  output: string;
  probabilities: string;
  namePhrases: string;
}

const OUTPUTS: ClassifierOutput[] = ['softmax', 'sigmoid', 'logits'];

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('class names in, a standalone ONNX image classifier out (text encoder and hypernetwork run once)')
    .option('--classes <list>', 'comma-separated class names')
    .option('--classes-file <file>', 'class names: a JSON list or one name per line')
    .option('--templates <simple|file>', 'prompt templates: "a photo of a {}." or a JSON list of strings with {} (default: simple, or the generator.onnx ones)')
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--probabilities <kind>', `classifier output: ${OUTPUTS.join(', ')}`, 'softmax')
    .option('--engine <auto|libtorch|onnx>', 'onnx: the folder\'s generator.onnx and encoder.onnx on onnxruntime (no libtorch); auto: onnx when those exist', 'auto')
    .option(`--name-phrases <${NAME_PHRASES.join('|')}>`, 'wordnet: each class name and "<name>, a kind of <hypernym>" for 2 hypernyms of its first WordNet noun sense fill the templates, ' +
      'a class embedding averaging them all; wordnet-imagenet: the same from its first sense that is an ImageNet-1k class or above one (else its first) ' +
      '(libtorch engine; recorded as hyperclip.phrases)', 'none')
    .option('--int8', 'write an 8-bit classifier (int8 weights, uint8 activations, QDQ form), about a quarter of the float32 size; needs --calib')
    .option('--calib <images>', 'with --int8: your unlabelled images that set the activation ranges (a folder, a .txt list of image paths, shards, or e.g. cifar10:train)')
    .option('--calib-n <n>', `with --int8: at most this many calibration images, a seeded draw (default ${DEFAULT_CALIBRATION_IMAGES})`, integer('calib-n'))
    .option('--bias-correction <on|off>', 'with --int8: take the mean error of each convolution\'s rounded weights out of its bias, measured on the --calib images (default on)')
    .option('--float-layers <stem|none>', 'with --int8: stem keeps the first convolution (the one that reads the image) float; none quantizes it too (default stem)')
    .requiredOption('-o, --output <file>', 'where to write the .onnx classifier')
    .addHelpText('after', '\nExamples:\n  hyperclip generate --classes "cat,dog,car" -o classifier.onnx\n' +
      '  hyperclip generate --engine onnx --model models/default --classes "cat,dog" -o pets.onnx\n' +
      '  hyperclip generate --classes-file names.txt --templates templates.json --probabilities sigmoid -o pets.onnx\n' +
      '  hyperclip generate --classes "cat,dog" --int8 --calib my-pet-photos/ -o pets-int8.onnx\n' +
      '  hyperclip generate --classes "cat,dog,apple" --name-phrases wordnet -o pets-and-apples.onnx')
    .action(async (opts: GenerateCliOptions) => {
      const mode = checkNamePhrases(opts.namePhrases);
      const classNames = classesFrom(opts);
      if (!OUTPUTS.includes(opts.probabilities as ClassifierOutput)) {
        throw new Error(`--probabilities must be one of ${OUTPUTS.join(', ')}, got "${opts.probabilities}"`);
      }
      const output = opts.probabilities as ClassifierOutput;
      const int8 = int8Request(opts);
      const model = HyperclipModel.load(opts.model);
      const engine = model.engineFor(opts.engine as Engine, { phrases: mode !== 'none' });
      const phrases = namePhrases(classNames.names, mode);
      const described = phrases === null ? '' : `, ${phrases.reduce((n, list) => n + list.length, 0)} WordNet name phrases`;
      process.stderr.write(`generating a classifier for ${classNames.names.length} classes${described} (${engine})...\n`);
      const templates = opts.templates === undefined ? undefined : resolveTemplates(opts.templates, null);
      const result = await model.generateFile(classNames, { engine, templates, output, phrases });
      const built = engine === 'onnx' ? 'built' : 'exported';
      const timings = `generated in ${result.timings.generate.toFixed(2)} s, ${built} in ${result.timings.build.toFixed(2)} s`;
      const kb = (bytes: Uint8Array): string => `${(bytes.byteLength / 1024).toFixed(0)} KB`;
      if (int8 === null) {
        writeFileAtomic(opts.output, [result.bytes]);
        console.log(`${opts.output}: ${classNames.names.length} classes, ${kb(result.bytes)}, ${timings}`);
        return;
      }
      const quantized = await quantizeGenerated(result.bytes, result.metadata, int8);
      writeFileAtomic(opts.output, [quantized.bytes]);
      console.log(`${opts.output}: ${classNames.names.length} classes, int8, ${kb(quantized.bytes)} (float32 ${kb(result.bytes)}), ${timings}, ` +
        `calibrated on ${quantized.calibration} in ${quantized.seconds.toFixed(2)} s`);
    });
}

function classesFrom(opts: GenerateCliOptions): CheckedClassNames {
  if (opts.classes !== undefined && opts.classesFile !== undefined) throw new Error('give --classes or --classes-file, not both');
  if (opts.classesFile !== undefined) return readCheckedClassnames(opts.classesFile);
  if (opts.classes === undefined) throw new Error('no classes: give --classes "cat,dog,car" or --classes-file FILE');
  const names = opts.classes.split(',').map((n) => n.trim());
  if (names.every((n) => n === '')) throw new Error('--classes is empty: give class names separated by commas');
  // Checked here, before any progress line, so that a bad list is one line; generation takes the checked list as it is.
  return CheckedClassNames.check(names, 'classes');
}

