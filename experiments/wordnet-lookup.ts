// The WordNet lookup baseline: zero-shot with a pretrained MobileNet's
// ImageNet head and WordNet alone (src/eval/wordnet-lookup.ts), no text
// encoder and no training. What a model whose encoder started from these
// networks must beat before its text side earns any credit.
//   npm run experiment:wordnet-lookup -- [--network mobilenet_v2_1.0_224_quant] [--size 160]
//     [--datasets cifar10,cifar100,tiny-imagenet,held-out] [--limit N] [--senses all|first] [--out FILE]
// Writes runs/wordnet-lookup/NETWORK-SIZE.json; one summary line per dataset on stdout, progress on stderr.
import { Command } from 'commander';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { integer } from '../src/cli/parse.js';
import { heldOutClasses } from '../src/data/held-out.js';
import { imagenetClasses } from '../src/data/imagenet-classes.js';
import { createLoader, evalPreprocess, resolveDataset, WordNet, type CaptionSource } from '../src/data/index.js';
import { F, noGrad, setNumThreads, tensor, tidy } from '../src/engine/index.js';
import { percent } from '../src/eval/format.js';
import { ClassificationTally } from '../src/eval/scoring.js';
import { ImagenetHierarchy, lookupRanking, type SenseChoice } from '../src/eval/wordnet-lookup.js';
import { importMobileNetFile, pretrainedFile } from '../src/models/import/pretrained-ref.js';
import type { LabelClassifier } from '../src/models/label-classifier.js';
import { projectRoot } from '../src/project-root.js';
import { writeJsonAtomic } from '../src/engine/atomic-write.js';

interface Options { network: string; size?: number; datasets: string; limit?: number; senses: string; threads: number; out?: string }

interface DatasetRecord {
  dataset: string; split: string; top1: number; correct: number; images: number; classes: number;
  /** Images whose every class scored 0 (no mapped ImageNet class): counted wrong. */
  noScore: number;
  unmapped: string[];
  /** Names WordNet lacks, looked up by their last word instead. */
  headNoun: Record<string, string>;
}

const DATASETS = ['cifar10', 'cifar100', 'tiny-imagenet', 'held-out'];
const say = (text: string): void => { process.stderr.write(`wordnet-lookup: ${text}\n`); };

/** The evaluated split, its label source and class names; held-out: its 40 classes among themselves. */
function evaluated(name: string): { split: string; shards: string[]; caption: CaptionSource; classnames: string[] } {
  if (!DATASETS.includes(name)) throw new Error(`--datasets takes ${DATASETS.join(', ')}; got "${name}"`);
  const base = name === 'held-out' ? 'tiny-imagenet' : name;
  const split = base === 'tiny-imagenet' ? 'val' : 'test';
  const source = resolveDataset(base, split, 'simple');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  if (name !== 'held-out') return { split, shards: source.shards, caption, classnames: caption.classnames };
  const { indices } = heldOutClasses();
  return { split, shards: source.shards, caption: { ...caption, subset: indices }, classnames: indices.map((i) => caption.classnames[i]!) };
}

async function score(classifier: LabelClassifier, size: number, hierarchy: ImagenetHierarchy, name: string, opts: Options): Promise<DatasetRecord> {
  const { split, shards, caption, classnames } = evaluated(name);
  const mappings = classnames.map((n) => hierarchy.mapName(n, opts.senses as SenseChoice));
  const mapped = mappings.map((m) => m.imagenet);
  const limit = opts.limit ?? Infinity;
  // Stored order, one pass: --limit takes the first N images (a smoke check; test shards may be sorted by class).
  const loader = createLoader({ sources: [{ shards, caption }], batchSize: Math.min(64, limit), preprocess: evalPreprocess(size),
    shuffle: false, epochs: 1, workers: opts.threads });
  const tally = new ClassificationTally(classnames.length);
  let noScore = 0;
  try {
    for await (const batch of loader) {
      const take = Math.min(batch.size, limit - tally.samples);
      const probs = noGrad(() => tidy(() => F.softmax(classifier.forward(tensor(batch.images, [batch.size, 3, batch.height, batch.width])), 1).toArray()));
      const ranked = lookupRanking(probs, batch.size, mapped, tally.width); // [N * width], -1 where no class scored
      for (let i = 0; i < take; i++) if (ranked[i * tally.width] === -1) noScore++;
      tally.add(ranked, batch.labels!.subarray(0, take));
      say(`${name} ${tally.samples}${Number.isFinite(limit) ? `/${limit}` : ''} images, top-1 so far ${percent(tally.top1, { unit: true })}`);
      if (tally.samples >= limit) break;
    }
  } finally {
    await loader.close();
  }
  const images = tally.samples;
  if (images === 0) throw new Error(`${name} ${split}: no readable images (${loader.skips.summary()})`);
  return {
    dataset: name, split, top1: tally.top1, correct: Math.round(tally.top1 * images), images, classes: classnames.length, noScore,
    unmapped: mappings.filter((m) => m.imagenet.length === 0).map((m) => m.name),
    headNoun: Object.fromEntries(mappings.filter((m) => m.lemma !== null && m.lemma !== m.name).map((m) => [m.name, m.lemma!])),
  };
}

async function main(opts: Options): Promise<void> {
  if (opts.senses !== 'all' && opts.senses !== 'first') throw new Error(`--senses takes all or first, got "${opts.senses}"`);
  setNumThreads(opts.threads);
  const file = pretrainedFile(`pretrained:${opts.network}`)!;
  const { image, classifier } = importMobileNetFile(file, `no pretrained network ${file}: name a .tflite file of ${path.dirname(file)} without its extension`, path.basename(file));
  const size = opts.size ?? image.imageSize;
  const hierarchy = new ImagenetHierarchy(WordNet.load(), imagenetClasses());
  const command = ['npm run experiment:wordnet-lookup --', ...process.argv.slice(2)].join(' ');
  const out = opts.out ?? path.join(projectRoot(), 'runs', 'wordnet-lookup', `${opts.network}-${size}.json`);
  const datasets: DatasetRecord[] = [];
  try {
    for (const name of opts.datasets.split(',').map((d) => d.trim())) {
      const r = await score(classifier, size, hierarchy, name, opts);
      datasets.push(r);
      console.log(`${r.dataset} ${r.split}: top-1 ${percent(r.top1, { unit: true })} (${r.images} images, ${r.classes} classes, ${opts.network} at ${size} px, senses ${opts.senses}); ` +
        `${r.unmapped.length} class names have no ImageNet hyponym${r.unmapped.length > 0 ? `: ${r.unmapped.join(', ')}` : ''}`);
    }
  } finally {
    classifier.dispose();
  }
  mkdirSync(path.dirname(out), { recursive: true });
  const record = { network: opts.network, size, senses: opts.senses, limit: opts.limit ?? null, command, trainedOn: 'ImageNet-1k (1.28M labelled images)', datasets };
  writeJsonAtomic(out, record);
  say(`wrote ${path.relative(process.cwd(), out)}`);
}

export const cli = (): Command => new Command()
  .name('wordnet-lookup')
  .description('zero-shot by WordNet alone: class name -> ImageNet-1k classes at or under its synsets -> a pretrained network\'s ImageNet probabilities')
  .option('--network <name>', 'a .tflite file of ../shared/data/pretrained, without the extension', 'mobilenet_v2_1.0_224_quant')
  .option('--size <px>', 'input size (default: the network\'s own)', integer('size', 32, 1024))
  .option('--datasets <list>', `comma-separated: ${DATASETS.join(', ')}`, 'cifar10,cifar100,tiny-imagenet,held-out')
  .option('--limit <n>', 'the first N images of each dataset, in stored order', integer('limit'))
  .option('--senses <which>', 'all WordNet senses of a name, or the first', 'all')
  .option('--threads <n>', 'libtorch and decoding threads', integer('threads'), 2)
  .option('--out <file>', 'the JSON record (default runs/wordnet-lookup/NETWORK-SIZE.json)');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('wordnet-lookup', main)).parseAsync();
