// Data loader throughput: images per second for CIFAR-10 train (32 -> 64 px)
// and Flickr8k train (128 -> 64 px) with training augmentation on all cores,
// and the ratio to what training consumes (--consumer-rate, img/s).
//   npm run bench:data -- --quick --consumer-rate 115
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { resolveDataset } from '../src/data/datasets.js';
import { createLoader } from '../src/data/loader.js';
import { trainPreprocess } from '../src/data/preprocess.js';

async function imagesPerSecond(dataset: string, images: number, workers: number, batchSize: number): Promise<number> {
  const source = resolveDataset(dataset, 'train');
  const loader = createLoader({ sources: [source], batchSize, preprocess: trainPreprocess(64), seed: 0, workers });
  // The first batch fills the shuffle buffer and starts the workers: not part of the steady rate.
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
  console.log(`${dataset}: ${seen} images in ${seconds.toFixed(2)} s, ${workers} workers, batch ${batchSize}; ${loader.skips.summary()}`);
  return seen / seconds;
}

export const cli = (): Command => new Command('bench:data')
  .option('--quick', 'short run (about 2000 images per dataset)')
  .option('--consumer-rate <n>', 'images per second the training preset consumes', '115')
  .option('--workers <n>', 'decoding threads', String(availableParallelism()))
  .option('--batch-size <n>', 'batch size', '128');

async function main(): Promise<void> {
  const options = cli().parse().opts<{ quick?: boolean; consumerRate: string; workers: string; batchSize: string }>();
  const consumer = Number(options.consumerRate);
  if (!(consumer > 0)) throw new Error(`expected --consumer-rate > 0, received ${options.consumerRate}`);
  const images = options.quick ? 2000 : 10000;
  const workers = Number(options.workers);
  const batchSize = Number(options.batchSize);
  const cifar = await imagesPerSecond('cifar10', images, workers, batchSize);
  const flickr = await imagesPerSecond('flickr8k', images, workers, batchSize);
  console.log(`cifar10_img_per_s=${cifar.toFixed(0)}`);
  console.log(`flickr8k_img_per_s=${flickr.toFixed(0)}`);
  console.log(`consumer_img_per_s=${consumer}`);
  console.log(`ratio_to_training=${(Math.min(cifar, flickr) / consumer).toFixed(2)}`);
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:data: ${error.message}`);
  process.exit(1);
});
