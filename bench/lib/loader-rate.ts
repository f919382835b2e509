// The loader's steady rate on one source, and the same images as loose files
// and as shards: a temporary image folder (CIFAR-10, class folders) or CSV
// (Flickr8k, captions) made from real images of ../shared/data, the shards
// written from it by writeShards, both read with training augmentation.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveDataset } from '../../src/data/datasets.js';
import { createLoader, type LoaderSource } from '../../src/data/loader.js';
import { trainPreprocess } from '../../src/data/preprocess.js';
import { resolveData } from '../../src/data/resolve.js';
import { iterateSamples } from '../../src/data/webdataset/reader.js';
import { writeShards } from '../../src/data/write-shards.js';

/** Images per second over `images` images after the first batch (which fills the shuffle buffer and starts the workers). */
export async function loaderRate(label: string, source: LoaderSource, images: number, workers: number, batchSize: number): Promise<number> {
  const loader = createLoader({ sources: [source], batchSize, preprocess: trainPreprocess(64), seed: 0, workers });
  await loader.next();
  const start = performance.now();
  let seen = 0;
  while (seen < images) {
    const batch = await loader.next();
    if (!batch) break;
    seen += batch.size;
  }
  const seconds = (performance.now() - start) / 1000;
  await loader.close();
  console.log(`${label}: ${seen} images in ${seconds.toFixed(2)} s, ${workers} workers, batch ${batchSize}; ${loader.skips.summary()}`);
  return seen / seconds;
}

/** A temporary folder: cifar10/CLASS/KEY.jpg (labelled) or flickr8k/pairs.csv with its images (captioned), `count` images. */
async function looseCopy(root: string, dataset: 'cifar10' | 'flickr8k', count: number): Promise<string> {
  const source = resolveDataset(dataset, 'train');
  const folder = path.join(root, dataset);
  const rows = ['filepath,title'];
  let written = 0;
  for await (const sample of iterateSamples(source.shards)) {
    const image = sample.members.get('jpg');
    if (!image) continue;
    const name = `${sample.key.replaceAll('/', '_')}.jpg`;
    if (dataset === 'cifar10') {
      const classDir = path.join(folder, source.classnames![Number(sample.members.get('cls'))]!);
      mkdirSync(classDir, { recursive: true });
      writeFileSync(path.join(classDir, name), image);
    } else {
      mkdirSync(path.join(folder, 'images'), { recursive: true });
      writeFileSync(path.join(folder, 'images', name), image);
      rows.push(`images/${name},"${sample.members.get('txt')!.toString().trim().replaceAll('"', '""')}"`);
    }
    if (++written === count) break;
  }
  if (dataset === 'cifar10') return folder;
  writeFileSync(path.join(folder, 'pairs.csv'), `${rows.join('\n')}\n`);
  return path.join(folder, 'pairs.csv');
}

export interface LooseVsShards { dataset: string; files: number; looseRate: number; shardRate: number }

/** The same `count` images read as loose files and as shards; the temporary folder is removed afterwards. */
export async function looseVsShards(dataset: 'cifar10' | 'flickr8k', count: number, images: number, workers: number, batchSize: number): Promise<LooseVsShards> {
  const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-data-'));
  try {
    const loose = resolveData(await looseCopy(root, dataset, count));
    const shards = path.join(root, `${dataset}-shards`);
    await writeShards(loose, shards, { seed: 0, samplesPerShard: Math.ceil(count / 4) });
    const files = loose.source.files!.files.length;
    const looseRate = await loaderRate(`${dataset} as ${loose.kind} (${files} files)`, loose.source, images, workers, batchSize);
    const shardRate = await loaderRate(`${dataset} as shards (the same ${files} images)`, resolveData(shards).source, images, workers, batchSize);
    return { dataset, files, looseRate, shardRate };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
