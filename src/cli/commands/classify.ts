import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadClassifier } from '../../api/node-classifier.js';
import type { LabelScore } from '../../api/classifier.js';
import { integer } from '../parse.js';
import { printSummary } from '../progress.js';

interface ClassifyCliOptions {
  topK: number;
  batchSize: number;
  json?: boolean;
}

// Extensions picked up from folders; files named on the command line may be any format sharp reads.
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.svg', '.bmp']);

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('classify images with a generated .onnx classifier on onnxruntime (no libtorch needed)')
    .argument('<classifier>', 'a .onnx file written by hyperclip generate')
    .argument('<images...>', 'image files or folders of images')
    .option('--top-k <n>', 'labels per image', integer('top-k'), 5)
    .option('--batch-size <n>', 'images per runtime call', integer('batch-size'), 32)
    .option('--json', 'print the predictions as JSON on stdout (the summary line then goes to stderr)')
    .addHelpText('after', '\nExamples:\n  hyperclip classify classifier.onnx cat.jpg dog.png\n  hyperclip classify classifier.onnx photos/ --top-k 3 --json')
    .action(async (file: string, inputs: string[], opts: ClassifyCliOptions) => {
      const started = performance.now();
      const classifier = await loadClassifier(file);
      const perImage = 3 * classifier.inputSize * classifier.inputSize;
      const { named, found } = collectImages(inputs);
      const results: { file: string; topk: LabelScore[] }[] = [];
      let skipped = 0;
      for (let i = 0; i < named.length + found.length; i += opts.batchSize) {
        const batch = [...named, ...found].slice(i, i + opts.batchSize);
        const pixels = new Float32Array(batch.length * perImage);
        const decoded: string[] = [];
        for (const image of batch) {
          try {
            await classifier.decode(image, pixels, decoded.length * perImage);
            decoded.push(image);
          } catch (err) {
            if (named.includes(image)) throw err;
            skipped++;
          }
        }
        if (decoded.length === 0) continue;
        const labels = await classifier.classifyTensor(pixels.subarray(0, decoded.length * perImage), { topK: opts.topK, normalized: true });
        labels.forEach((topk, j) => results.push({ file: decoded[j]!, topk }));
        if (!opts.json) for (const r of results.slice(-decoded.length)) console.log(formatLine(r.file, r.topk));
      }
      await classifier.release();
      if (opts.json) console.log(JSON.stringify(results, null, 2));
      const seconds = (performance.now() - started) / 1000;
      printSummary(`classified ${results.length} image(s) in ${seconds.toFixed(2)} s with ${path.basename(file)}` +
        ` (${classifier.classNames.length} classes)${skipped > 0 ? `, ${skipped} unreadable file(s) skipped` : ''}`, opts.json);
    });
}

/** Files named on the command line, and image files found in named folders (sorted). */
function collectImages(inputs: string[]): { named: string[]; found: string[] } {
  const named: string[] = [];
  const found: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new Error(`no such file or folder: ${input}`);
    if (statSync(input).isDirectory()) {
      const images = readdirSync(input).filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).sort();
      found.push(...images.map((f) => path.join(input, f)));
    } else {
      named.push(input);
    }
  }
  if (named.length + found.length === 0) throw new Error(`no images found in ${inputs.join(', ')}`);
  return { named, found };
}

function formatLine(file: string, topk: LabelScore[]): string {
  return `${file}: ${topk.map((s) => `${s.label} ${(100 * s.probability).toFixed(1)}%`).join(', ')}`;
}
