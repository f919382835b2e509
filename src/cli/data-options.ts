// The options naming a CSV's columns, shared by every command that reads
// datasets (OpenCLIP's names, so its users' commands carry over).
import type { Command } from 'commander';
import { CSV_DEFAULTS, type CsvColumns } from '../data/index.js';

export interface CsvCliOptions {
  csvImgKey?: string;
  csvCaptionKey?: string;
  csvSeparator?: string;
}

export function addCsvOptions(command: Command): Command {
  return command
    .option('--csv-img-key <column>', `a CSV's column of image paths, relative to the CSV file (default ${CSV_DEFAULTS.imageKey})`)
    .option('--csv-caption-key <column>', `a CSV's column of captions (default ${CSV_DEFAULTS.captionKey})`)
    .option('--csv-separator <char>', 'a CSV\'s field separator (default: tab for .tsv, else a comma; "\\t" for a tab)');
}

export function csvColumns(opts: CsvCliOptions): CsvColumns {
  return { imageKey: opts.csvImgKey, captionKey: opts.csvCaptionKey, separator: opts.csvSeparator };
}
