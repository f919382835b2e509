// Data loader throughput: images per second for CIFAR-10 train (32 -> 64 px)
// and Flickr8k train (128 -> 64 px) with training augmentation on all cores,
// and the ratio to what training consumes (--consumer-rate, img/s). Then the
// same few hundred images read as loose files (a class-folder copy of
// CIFAR-10, a CSV copy of Flickr8k) and as shards written from them.
//   npm run bench:data -- --quick --consumer-rate 115
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { isEntryPoint } from './lib/cli.js';
import { resolveDataset } from '../src/data/datasets.js';
import { loaderRate, looseVsShards } from './lib/loader-rate.js';

async function imagesPerSecond(dataset: string, images: number, workers: number, batchSize: number): Promise<number> {
  return loaderRate(dataset, resolveDataset(dataset, 'train'), images, workers, batchSize);
}

export const cli = (): Command => new Command('bench:data')
  .option('--quick', 'short run (about 2000 images per measurement; 300 loose files)')
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
  const files = options.quick ? 300 : 1000;
  for (const dataset of ['cifar10', 'flickr8k'] as const) {
    const r = await looseVsShards(dataset, files, images, workers, batchSize);
    console.log(`${dataset}_loose_files_img_per_s=${r.looseRate.toFixed(0)}`);
    console.log(`${dataset}_same_as_shards_img_per_s=${r.shardRate.toFixed(0)}`);
    console.log(`${dataset}_loose_to_shards=${(r.looseRate / r.shardRate).toFixed(2)}`);
  }
}

if (isEntryPoint(import.meta.url)) main().catch((error: Error) => {
  console.error(`bench:data: ${error.message}`);
  process.exit(1);
});
