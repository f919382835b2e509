// `hyperclip shards SRC -o OUT`: an image folder, a CSV/TSV of image paths
// and captions, or a list of images written as WebDataset shards (seeded
// order, progress, a summary line), for data too large to read file by file.
import type { Command } from 'commander';
import path from 'node:path';
import { resolveData, writeShards } from '../../data/index.js';
import { readClassnames } from '../../eval/templates.js';
import { addCsvOptions, csvColumns, type CsvCliOptions } from '../data-options.js';
import { integer } from '../parse.js';
import { createProgress } from '../progress.js';

interface ShardsCliOptions extends CsvCliOptions {
  output: string;
  seed: number;
  shuffle: boolean;
  samplesPerShard: number;
  prefix: string;
  classnames?: string;
  verify: boolean;
}

export function registerShards(program: Command): void {
  addCsvOptions(program
    .command('shards')
    .description('write WebDataset shards (.tar: image + .cls or .txt + .json, classnames.json) from an image folder, a CSV/TSV of image paths and captions, or a list of images')
    .argument('<source>', 'a folder of class folders (photos/cat/*.jpg), a plain folder of images, a .csv/.tsv, or a .txt list of image paths')
    .requiredOption('-o, --output <dir>', 'the folder for the shards (created; it must hold no shards yet)')
    .option('--seed <n>', 'seed of the sample order', integer('seed', 0), 0)
    .option('--no-shuffle', 'keep the listing order (sorted class folders, CSV rows) instead of a seeded permutation')
    .option('--samples-per-shard <n>', 'samples per .tar file', integer('samples-per-shard'), 10_000)
    .option('--prefix <name>', 'shard file names: NAME-000000.tar, ...', 'shard')
    .option('--classnames <file>', 'the label order of the class folders (JSON list or one per line; they must name the folders)')
    .option('--no-verify', 'copy images without decoding them first (faster; undecodable images are then skipped when read)'))
    .addHelpText('after', '\nExamples:\n  hyperclip shards photos/ -o photos-shards/          # photos/cat/*.jpg -> .jpg + .cls, classnames.json\n' +
      '  hyperclip shards pairs.csv --csv-img-key filepath --csv-caption-key title -o pairs-shards/ --samples-per-shard 5000\n' +
      '  hyperclip eval --dataset photos-shards/              # shards with classnames.json read like the folder')
    .action(async (source: string, opts: ShardsCliOptions) => {
      const started = Date.now();
      const data = resolveData(source, { classnames: opts.classnames === undefined ? undefined : readClassnames(opts.classnames), csv: csvColumns(opts) });
      const total = data.source.files?.files.length ?? 0;
      const progress = createProgress('shards', total);
      let last = 0;
      const summary = await writeShards(data, opts.output, {
        seed: opts.seed, shuffle: opts.shuffle, samplesPerShard: opts.samplesPerShard, prefix: opts.prefix, verify: opts.verify,
        onProgress: (done) => { if (done - last >= 100 || done === total) { last = done; progress.update(done); } },
      });
      progress.stop();
      const classes = summary.classnames === null ? '' : `, ${summary.classnames.length} classes`;
      const order = opts.shuffle ? `seed ${opts.seed}` : 'listing order';
      console.log(`wrote ${summary.samples} samples${classes} to ${summary.shards.length} shard(s) in ${opts.output} ` +
        `(${path.basename(summary.shards[0]!)}${summary.shards.length > 1 ? ` .. ${path.basename(summary.shards.at(-1)!)}` : ''}, ` +
        `${(summary.bytes / 2 ** 20).toFixed(1)} MB, ${order}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ${summary.skipped.summary()}`);
    });
}
