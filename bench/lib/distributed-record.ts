// The record of `npm run bench:distributed` (runs/bench/distributed.jsonl)
// and the section of docs/distributed.md rebuilt from it: settings, host and
// load as recorded, every launch, and the 2-process/1-process ratio judged by
// the reports' one noise rule.
import { markdownTable, percent } from '../../src/eval/format.js';
import { judgeNoise, spread } from '../../tools/stats.js';

export interface WorkerResult { images: number; seconds: number; commSeconds: number; waitSeconds: number }
export interface DistributedSettings { recipe: string; quick: boolean; rounds: number; steps: number; warmup: number; batchSize: number }
export interface LaunchRecord extends WorkerResult { round: number; name: string; processes: number; threads: number }
export interface DistributedRecord {
  at: string;
  command: string;
  settings: DistributedSettings;
  host: { cpus: number; cpuModel: string; platform: string; node: string; loadAverage: number[] };
  loadAverageAtEnd: number[];
  launches: LaunchRecord[];
}

export const REPORT_COMMAND = 'npm run bench:distributed -- --report-only';

/** Per set-up, in launch order of first appearance: images/s over all its launches, and the shares of time. */
export function summarise(record: DistributedRecord): { name: string; rate: number; commShare: number; rates: number[] }[] {
  const names = [...new Set(record.launches.map((l) => l.name))];
  return names.map((name) => {
    const mine = record.launches.filter((l) => l.name === name);
    const sum = (key: keyof WorkerResult) => mine.reduce((s, l) => s + l[key], 0);
    return { name, rate: sum('images') / sum('seconds'), commShare: sum('commSeconds') / sum('seconds'), rates: mine.map((l) => l.images / l.seconds) };
  });
}

/** The latest full run, else the latest --quick one (labelled as such). */
export function chooseRecord(records: DistributedRecord[]): DistributedRecord | null {
  return records.filter((r) => !r.settings.quick).at(-1) ?? records.at(-1) ?? null;
}

export function distributedSection(records: DistributedRecord[]): string[] {
  const record = chooseRecord(records);
  if (record === null) {
    return ['', '**No committed run record yet**: `npm run bench:distributed` measures this (a few minutes on 2 cores), appends its record to ' +
      '`runs/bench/distributed.jsonl`, and `' + REPORT_COMMAND + '` writes the table here.', ''];
  }
  const { settings: s, host: h } = record;
  const rows = record.launches.map((l) => [`${l.name}, round ${l.round}`, (l.images / l.seconds).toFixed(1), percent(l.commSeconds / l.seconds, { digits: 1, unit: true }),
    percent(l.waitSeconds / l.seconds, { digits: 1, unit: true })]);
  const [one, two] = summarise(record);
  const lines = [
    '',
    `\`${record.command}\` (${record.at.slice(0, 10)}): 1 process x 2 threads against 2 processes x 1 thread, ${s.recipe}, global batch ${s.batchSize}, ` +
    `${s.warmup} untimed and ${s.steps} timed steps per launch, ${s.rounds} round(s) alternating which goes first, Flickr8k train through the real loader, ` +
    `c10d/Gloo over 127.0.0.1. Host: ${h.cpus} × ${h.cpuModel}, ${h.platform}, Node ${h.node}; load average ${h.loadAverage[0]} at the start and ${record.loadAverageAtEnd[0]} at the end ` +
    '(other jobs share this machine: the absolute images/s are what it gave this run, not what it can do).',
    ...(s.quick ? ['', '**A `--quick` smoke run**: too few steps to quote as a measurement; `npm run bench:distributed` (without --quick) records a full one.'] : []),
    '',
    ...markdownTable(['launch', 'images/s', 'time in collectives', 'data wait'], rows),
    '',
  ];
  if (one !== undefined && two !== undefined) {
    const a = spread(two.rates), b = spread(one.rates);
    const noise = judgeNoise(a.mean - b.mean, Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n));
    const judged = noise === 'no spread to judge' ? 'with one launch of a set-up there is no spread to judge it against' : `${noise} by the spread of the launches' rates`;
    lines.push(`So ${two.name} ran at ${(two.rate / one.rate).toFixed(2)}x the images/s of ${one.name} (${two.rate.toFixed(1)} against ${one.rate.toFixed(1)}), ` +
      `${judged}; ${percent(two.commShare, { digits: 0, unit: true })} of their step time was spent in collectives (the embedding all-gathers and the gradient ` +
      'all-reduce, waiting for the slower rank included).', '');
  }
  return lines;
}
