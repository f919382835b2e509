// Image-caption pairs from a CSV or TSV file, as OpenCLIP reads them
// (--csv-img-key filepath --csv-caption-key title --csv-separator): a header
// row names the columns, each further row is one sample, image paths are
// relative to the file. Parsing (quotes, doubled quotes, separators and line
// breaks inside quotes, CRLF, a byte-order mark) is csv-parse's.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { SkipCounter } from '../webdataset/skip-counter.js';
import type { FileList, FileSample } from './file-samples.js';
import { isImageFile } from './listing.js';

export interface CsvColumns {
  /** The column of image paths (OpenCLIP's --csv-img-key; default "filepath"). */
  imageKey?: string;
  /** The column of captions (OpenCLIP's --csv-caption-key; default "title"). */
  captionKey?: string;
  /** One character, or "\t" / "tab" (default: tab for .tsv, else a comma). */
  separator?: string;
}

export const CSV_DEFAULTS = { imageKey: 'filepath', captionKey: 'title' } as const;

const isTsv = (file: string): boolean => /\.tsv$/i.test(file);

/** "\t" as typed on a command line (a backslash and a t), "tab", or one character. */
export function parseSeparator(text: string | undefined, file: string): string {
  if (text === undefined) return isTsv(file) ? '\t' : ',';
  if (text === '\\t' || text.toLowerCase() === 'tab') return '\t';
  if ([...text].length !== 1) throw new Error(`expected one character (or \\t) for --csv-separator but received ${JSON.stringify(text)}`);
  return text;
}

const shown = (separator: string): string => (separator === '\t' ? '\\t' : separator);

function columnIndex(header: string[], key: string, flag: string, file: string, separator: string): number {
  const index = header.indexOf(key);
  if (index >= 0) return index;
  const hint = header.length === 1 ? ` (one column read with separator "${shown(separator)}": set --csv-separator)` : '';
  throw new Error(`${file} has no column "${key}" (its columns: ${header.map((h) => JSON.stringify(h)).join(', ')})${hint}: name the column with ${flag}`);
}

function parseRows(file: string, separator: string): { record: string[]; line: number }[] {
  try {
    const rows = parse(readFileSync(file), {
      delimiter: separator, bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true, info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
    return rows.map((r) => ({ record: r.record, line: r.info.lines }));
  } catch (error) {
    throw new Error(`${file} is not a readable CSV: ${(error as Error).message}`);
  }
}

/** The pairs of a CSV/TSV; one line for a missing file or column, rows without an image or caption counted. */
export function listCsvPairs(file: string, columns: CsvColumns = {}): FileList {
  if (!existsSync(file)) throw new Error(`CSV file not found: ${file}`);
  const separator = parseSeparator(columns.separator, file);
  const [header, ...rows] = parseRows(file, separator);
  if (header === undefined) throw new Error(`${file} is empty: expected a header row naming its columns (${CSV_DEFAULTS.imageKey}, ${CSV_DEFAULTS.captionKey})`);
  const names = header.record.map((h) => h.trim());
  const image = columnIndex(names, columns.imageKey ?? CSV_DEFAULTS.imageKey, '--csv-img-key', file, separator);
  const caption = columnIndex(names, columns.captionKey ?? CSV_DEFAULTS.captionKey, '--csv-caption-key', file, separator);
  const base = path.dirname(file);
  const skipped = new SkipCounter();
  const samples: FileSample[] = [];
  for (const { record, line } of rows) {
    const entry = record[image]?.trim() ?? '';
    const text = record[caption]?.trim() ?? '';
    const where = `${file}:${line}`;
    if (entry === '') { skipped.add('missing_image', where); continue; }
    if (text === '') { skipped.add('missing_caption', `${where} ${entry}`); continue; }
    const full = path.resolve(base, entry);
    if (!isImageFile(entry)) skipped.add('not_an_image', `${where} ${entry}`);
    else if (!existsSync(full)) skipped.add('missing_file', `${where} ${entry}`);
    else samples.push({ key: `${line}:${entry}`, path: full, caption: text });
  }
  if (samples.length === 0) {
    throw new Error(`${file} has no usable rows (${rows.length} rows; ${skipped.summary()}): image paths are read relative to the CSV file's folder`);
  }
  return { origin: file, files: samples, skipped };
}
