import type { Command } from 'commander';
import { defaultModelDir, loadBundle } from '../../bundle/bundle.js';
import { hasDeployFiles } from '../../deploy/deploy-files.js';
import { generateFromFolder } from '../../deploy/generate-folder.js';
import { useAllCores, writeFileAtomic } from '../../engine/index.js';
import { generateClassifier } from '../../deploy/generate.js';
import { checkClassnames, readClassnames, resolveTemplates } from '../../eval/templates.js';
import type { ClassifierOutput } from '../../deploy/metadata.js';

interface GenerateCliOptions {
  classes?: string;
  classesFile?: string;
  templates?: string;
  model?: string;
  engine: string;
  output: string;
  probabilities: string;
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
    .requiredOption('-o, --output <file>', 'where to write the .onnx classifier')
    .addHelpText('after', '\nExamples:\n  hyperclip generate --classes "cat,dog,car" -o classifier.onnx\n' +
      '  hyperclip generate --engine onnx --model models/default --classes "cat,dog" -o pets.onnx\n' +
      '  hyperclip generate --classes-file names.txt --templates templates.json --probabilities sigmoid -o pets.onnx')
    .action(async (opts: GenerateCliOptions) => {
      const classNames = classesFrom(opts);
      if (!OUTPUTS.includes(opts.probabilities as ClassifierOutput)) {
        throw new Error(`--probabilities must be one of ${OUTPUTS.join(', ')}, got "${opts.probabilities}"`);
      }
      const output = opts.probabilities as ClassifierOutput;
      const dir = opts.model ?? defaultModelDir();
      const engine = chooseEngine(opts.engine, dir);
      process.stderr.write(`generating a classifier for ${classNames.length} classes (${engine})...\n`);
      let bytes: Uint8Array;
      let timings: string;
      if (engine === 'onnx') {
        const templates = opts.templates === undefined ? undefined : resolveTemplates(opts.templates, null);
        const result = await generateFromFolder(dir, { classNames, templates, output });
        [bytes, timings] = [result.bytes, `generated in ${result.timings.generate.toFixed(2)} s, built in ${result.timings.build.toFixed(2)} s`];
      } else {
        useAllCores();
        const result = generateClassifier(loadBundle(opts.model), { classNames, templates: resolveTemplates(opts.templates ?? 'simple', null), output });
        [bytes, timings] = [result.bytes, `generated in ${result.timings.generate.toFixed(2)} s, exported in ${result.timings.export.toFixed(2)} s`];
      }
      writeFileAtomic(opts.output, [bytes]);
      console.log(`${opts.output}: ${classNames.length} classes, ${(bytes.byteLength / 1024).toFixed(0)} KB, ${timings}`);
    });
}

function chooseEngine(choice: string, dir: string): 'onnx' | 'libtorch' {
  if (choice === 'libtorch') return 'libtorch';
  if (choice === 'onnx' || choice === 'auto') {
    if (hasDeployFiles(dir)) return 'onnx';
    if (choice === 'onnx') throw new Error(`${dir} has no generator.onnx and encoder.onnx: write them with \`hyperclip export-onnx --model ${dir}\``);
    return 'libtorch';
  }
  throw new Error(`--engine must be auto, libtorch or onnx, got "${choice}"`);
}

function classesFrom(opts: GenerateCliOptions): string[] {
  if (opts.classes !== undefined && opts.classesFile !== undefined) throw new Error('give --classes or --classes-file, not both');
  if (opts.classesFile !== undefined) return readClassnames(opts.classesFile);
  if (opts.classes === undefined) throw new Error('no classes: give --classes "cat,dog,car" or --classes-file FILE');
  const names = opts.classes.split(',').map((n) => n.trim());
  if (names.every((n) => n === '')) throw new Error('--classes is empty: give class names separated by commas');
  // Checked here, before any progress line: a bad list is one line.
  return checkClassnames(names, 'classes');
}

