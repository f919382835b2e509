import type { Command } from 'commander';
import { importPretrained } from '../../deploy/pretrained.js';
import { useAllCores } from '../../engine/index.js';
import { printSummary } from '../progress.js';

const FAMILIES: Record<string, string> = { mobilenetv1: 'MobileNet v1', mobilenetv2: 'MobileNet v2' };

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import an ImageNet-trained MobileNet v1/v2 (.tflite) into a pretrained folder: checkpoint, classifier.onnx, model card')
    .argument('<file>', 'a TensorFlow Lite MobileNet v1 or v2 classifier (uint8, as in ../shared/data/pretrained)')
    .requiredOption('-o, --out <dir>', 'the pretrained folder to write')
    .addHelpText('after', '\nExamples:\n  hyperclip import ../shared/data/pretrained/mobilenet_v1_0.25_128_quant.tflite -o runs/pretrained/v1-0.25-128\n' +
      '  hyperclip eval --model runs/pretrained/v1-0.25-128 --dataset imagenet-sample\n' +
      '  hyperclip classify runs/pretrained/v1-0.25-128/classifier.onnx photo.jpg\n' +
      '  a recipe\'s stage: init: { from: "runs/pretrained/v1-0.25-128", parts: ["imageEncoder"] }')
    .action((file: string, opts: { out: string }) => {
      useAllCores();
      const started = performance.now();
      const result = importPretrained(file, opts.out, { onStep: (step) => process.stderr.write(`${step}\n`) });
      const { image, parameters, files } = result;
      const total = parameters.encoder + parameters.head;
      const seconds = (performance.now() - started) / 1000;
      printSummary(`imported ${FAMILIES[image.family] ?? image.family}, width ${image.widthMultiplier}, ${image.imageSize}x${image.imageSize} input, ` +
        `${(total / 1e6).toFixed(2)}M parameters (encoder ${(parameters.encoder / 1e6).toFixed(2)}M, head ${(parameters.head / 1e6).toFixed(2)}M) ` +
        `in ${seconds.toFixed(1)} s -> ${opts.out}: ${files.map((f) => `${f.name} (${formatBytes(f.bytes)})`).join(', ')}`);
    });
}

function formatBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} KB`;
}
