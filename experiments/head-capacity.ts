// Is the text side's embedding wide enough for the pretrained head? The
// shipped model scores a class by the cosine between its 256-wide text
// embedding and a 256-wide projection of the locked encoder's pooled
// features. This writes the ImageNet head and the pooled features of a seeded
// sample of Tiny ImageNet val images (all 202 classes) to a scratch folder,
// and Debian's PyTorch (experiments/head-capacity/analyse.py) scores the head
// among Tiny ImageNet's classes with each restriction of that form. The
// record goes to runs/head-capacity/; the scratch folder (a conversion of the
// pretrained weights) is deleted, never committed.
//   npm run experiment:head-capacity -- [--limit 2000] [--size 160]
import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { integer } from '../src/cli/parse.js';
import { createLoader, evalPreprocess, resolveDataset } from '../src/data/index.js';
import { imagenetIndexOfTinyImagenetClasses } from '../src/data/imagenet-classes.js';
import { noGrad, setNumThreads, tensor, tidy } from '../src/engine/index.js';
import { importMobileNetFile, pretrainedFile } from '../src/models/import/pretrained-ref.js';
import { projectRoot } from '../src/project-root.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { writeJsonAtomic } from '../src/engine/atomic-write.js';

interface Options { network: string; size: number; limit: number; threads: number; python: string; out?: string }

const say = (text: string) => process.stderr.write(`head-capacity: ${text}\n`);

async function main(opts: Options): Promise<void> {
  // Before minutes of feature extraction: the analysis needs torch.
  const probe = spawnSync(opts.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`${opts.python} cannot import torch: install Debian's python3-torch (bash scripts/setup.sh) or pass --python PATH`);
  setNumThreads(opts.threads);
  const file = pretrainedFile(`pretrained:${opts.network}`)!;
  const { classifier } = importMobileNetFile(file, `no pretrained network ${file}: name a .tflite file of ${path.dirname(file)} without its extension`, path.basename(file));
  classifier.eval();
  const scratch = mkdtempSync(path.join(tmpdir(), 'hyperclip-head-capacity-'));
  const started = Date.now();
  try {
    const [classes, features] = classifier.head.weight.shape as [number, number];
    writeFileSync(path.join(scratch, 'head-weight.f32'), Float32Array.from(classifier.head.weight.toArray() as number[]));
    writeFileSync(path.join(scratch, 'head-bias.f32'), Float32Array.from(classifier.head.bias!.toArray() as number[]));
    const imagenetIndexOfClass = imagenetIndexOfTinyImagenetClasses();
    const source = resolveDataset('tiny-imagenet', 'val');
    // Seeded shuffle: the val shard is stored by class, so its first images would cover a few classes only.
    const loader = createLoader({ sources: [{ shards: source.shards, caption: source.caption }], batchSize: 50, preprocess: evalPreprocess(opts.size), shuffle: true, seed: 7, epochs: 1, workers: opts.threads });
    const pooled: number[] = [], labels: number[] = [];
    try {
      for await (const batch of loader) {
        const take = Math.min(batch.size, opts.limit - labels.length);
        const f = noGrad(() => tidy(() => classifier.imageEncoder.forward(tensor(batch.images, [batch.size, 3, batch.height, batch.width])).narrow(0, 0, take).toArray() as number[]));
        pooled.push(...f); labels.push(...Array.from(batch.labels!.subarray(0, take)));
        say(`features of ${labels.length}/${opts.limit} images`);
        if (labels.length >= opts.limit) break;
      }
    } finally {
      await loader.close();
    }
    writeFileSync(path.join(scratch, 'features.f32'), Float32Array.from(pooled));
    const ranks = [128, 256, 512];
    writeFileSync(path.join(scratch, 'meta.json'), JSON.stringify({ classes, features, images: labels.length, labels, imagenetIndexOfClass, ranks }));
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'experiments', 'head-capacity', 'analyse.py');
    const run = spawnSync(opts.python, [script, scratch], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${opts.python} ${script} failed (it needs Debian's python3-torch: bash scripts/setup.sh): ${run.stderr.trim().split('\n').at(-1)}`);
    const rows = JSON.parse(run.stdout) as Record<string, number>;
    const out = opts.out ?? path.join(projectRoot(), 'runs', 'head-capacity', `${opts.network}-${opts.size}.json`);
    mkdirSync(path.dirname(out), { recursive: true });
    const command = ['npm run experiment:head-capacity --', ...process.argv.slice(2)].join(' ');
    writeJsonAtomic(out, { network: opts.network, size: opts.size, images: labels.length, classes: imagenetIndexOfClass.length, top1: rows, command, seconds: (Date.now() - started) / 1000 });
    for (const [name, value] of Object.entries(rows)) console.log(`${(100 * value).toFixed(2)}%  ${name}`);
    console.log(`head-capacity: ${opts.network} at ${opts.size} px, ${labels.length} Tiny ImageNet val images, ${imagenetIndexOfClass.length} classes: full head ${(100 * rows['full head']!).toFixed(2)}%; record ${path.relative(process.cwd(), out)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    classifier.dispose();
  }
}

export const cli = (): Command => new Command()
  .name('head-capacity')
  .description('the pretrained ImageNet head among Tiny ImageNet\'s classes under the restrictions of a cosine text-image embedding (no bias, unit class vectors, rank k, k-wide image projection)')
  .option('--network <name>', 'a .tflite file of the data folder\'s pretrained/, without its extension', 'mobilenet_v2_1.0_224_quant')
  .option('--size <px>', 'input size', integer('size'), 160)
  .option('--limit <n>', 'Tiny ImageNet val images (a seeded sample)', integer('limit'), 2000)
  .option('--threads <n>', 'libtorch and decoding threads', integer('threads'), 2)
  .option('--python <path>', 'python with torch (Debian\'s python3-torch)', '/usr/bin/python3')
  .option('--out <file>', 'the JSON record (default runs/head-capacity/<network>-<size>.json)');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('head-capacity', main)).parseAsync();
