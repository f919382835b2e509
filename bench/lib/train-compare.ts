// bench:train --compare: two bench:train runs from their committed records
// (runs/bench/train.jsonl), each run's HyperCLIP/SigLIP ratio (the median of
// its per-round ratios) with a bootstrap 95% interval, and whether the two
// medians differ beyond their rounds' noise (a permutation test). Records are
// named by their line, 1-based; negative counts from the end.
//   npm run bench:train -- --compare -2,-1
import { readRecords, recordFile } from './records.js';
import { createRng } from '../../src/data/random.js';
import { bootstrapMedianInterval, median, medianPermutationP } from '../../tools/stats.js';

/** The record file bench:train --record appends to. */
export const RECORD = 'train';

export interface TrainRecord { command: string; date: string; output: string[] }

const ROUNDS_LINE = 'ratio over all timed steps: ';

/** The per-round ratios a bench:train record printed. */
export function roundRatios(record: TrainRecord): number[] {
  const line = record.output.find((l) => l.startsWith(ROUNDS_LINE));
  const listed = line?.split('per-round ratios: ')[1];
  if (listed === undefined) throw new Error(`the record of ${record.date} ("${record.command}") has no per-round ratios: it is not a bench:train run`);
  return listed.trim().split(/\s+/).map(Number);
}

function pick(records: TrainRecord[], line: string): TrainRecord {
  const n = Number(line);
  const index = n < 0 ? records.length + n : n - 1;
  if (!Number.isInteger(n) || n === 0 || records[index] === undefined) {
    throw new Error(`no record ${line} in ${recordFile(RECORD)} (${records.length} lines): give a line number, 1-based, or negative from the end`);
  }
  return records[index]!;
}

/** Prints the comparison of the records on these two lines. */
export function compareTrainRecords(first: string, second: string): void {
  const records = readRecords<TrainRecord>(RECORD);
  const runs = [pick(records, first), pick(records, second)];
  const ratios = runs.map(roundRatios) as [number[], number[]];
  runs.forEach((r, i) => {
    const [lo, hi] = bootstrapMedianInterval(ratios[i]!, createRng(i + 1));
    console.log(`${r.date} ${r.command}: median ${median(ratios[i]!).toFixed(3)} over ${ratios[i]!.length} rounds (95% bootstrap interval ${lo.toFixed(3)}-${hi.toFixed(3)})`);
  });
  const p = medianPermutationP(ratios[0], ratios[1], createRng(0));
  const difference = median(ratios[0]) - median(ratios[1]);
  console.log(`median_difference=${difference.toFixed(3)} permutation_p=${p.toFixed(4)} (${p < 0.05 ? 'beyond' : 'within'} the rounds' noise at 5%)`);
}

/** Two recipes timed side by side: the median of the first's per-round rate over the second's, with its 95% bootstrap interval. */
export interface SideBySide { command: string; date: string; ratio: number; low: number; high: number; rounds: number; /** Records of this pair, this one the last. */ records: number }

/** The last record of bench:train run with --recipes first,second, or null when that pair was never timed. */
export function latestSideBySide(records: TrainRecord[], first: string, second: string): SideBySide | null {
  const timed = records.filter((r) => /--recipes[ =](\S+)/.exec(r.command)?.[1] === `${first},${second}`);
  const record = timed.at(-1);
  if (record === undefined) return null;
  const ratios = roundRatios(record);
  const [low, high] = bootstrapMedianInterval(ratios, createRng(1));
  return { command: record.command, date: record.date, ratio: median(ratios), low, high, rounds: ratios.length, records: timed.length };
}
