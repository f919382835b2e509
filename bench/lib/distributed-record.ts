// The record of `npm run bench:distributed` (runs/bench/distributed.jsonl)
// and the section of docs/distributed.md rebuilt from it: settings, host and
// load as recorded, every launch, the 2-process/1-process ratio and the
// overlapped/after-backward all-reduce comparison, judged by the reports'
// one noise rule.
import { markdownTable, percent } from '../../src/eval/format.js';
import { describeHost, describeLoad, type Host } from '../../tools/host.js';
import { judgeNoise, MIN_PAIRS, spread } from '../../tools/stats.js';

export interface WorkerResult {
  images: number;
  seconds: number;
  /** Time blocked in collectives (an overlapped all-reduce's waits only). */
  commSeconds: number;
  waitSeconds: number;
  /** Overlapped all-reduce only: gradient buckets launched, and those launched while backward still ran. */
  bucketLaunches?: number;
  bucketLaunchesDuringBackward?: number;
}
export interface DistributedSettings { recipe: string; quick: boolean; rounds: number; steps: number; warmup: number; batchSize: number }
/** overlapAllReduce: absent in records from before it existed (all-reduce after backward). */
export interface LaunchRecord extends WorkerResult { round: number; name: string; processes: number; threads: number; overlapAllReduce?: boolean }
export interface DistributedRecord {
  at: string;
  command: string;
  settings: DistributedSettings;
  host: Host;
  loadAverageAtEnd: number[];
  launches: LaunchRecord[];
}

export const REPORT_COMMAND = 'npm run bench:distributed -- --report-only';

export interface SetupSummary { name: string; processes: number; overlapAllReduce: boolean; rate: number; commShare: number; rates: number[] }

/** Per set-up, in launch order of first appearance: images/s over all its launches, and the shares of time. */
export function summarise(record: DistributedRecord): SetupSummary[] {
  const names = [...new Set(record.launches.map((l) => l.name))];
  return names.map((name) => {
    const mine = record.launches.filter((l) => l.name === name);
    const sum = (key: 'images' | 'seconds' | 'commSeconds') => mine.reduce((s, l) => s + l[key], 0);
    return {
      name, processes: mine[0]!.processes, overlapAllReduce: mine[0]!.overlapAllReduce === true,
      rate: sum('images') / sum('seconds'), commShare: sum('commSeconds') / sum('seconds'), rates: mine.map((l) => l.images / l.seconds),
    };
  });
}

/** The set-ups compared: one process, two with the all-reduce after backward, two with it overlapped (each absent when not run). */
export function setupsOf(summary: SetupSummary[]): { one?: SetupSummary; after?: SetupSummary; overlapped?: SetupSummary } {
  return {
    one: summary.find((x) => x.processes === 1),
    after: summary.find((x) => x.processes > 1 && !x.overlapAllReduce),
    overlapped: summary.find((x) => x.processes > 1 && x.overlapAllReduce),
  };
}

/** "beyond noise by the spread of the launches' rates", or why it cannot be judged. */
function judgedRates(a: number[], b: number[]): string {
  const x = spread(a), y = spread(b);
  if (Math.min(x.n, y.n) < MIN_PAIRS) return `with ${Math.min(x.n, y.n)} launch(es) of a set-up the spread is too uncertain to judge it against (a verdict needs ${MIN_PAIRS})`;
  return `${judgeNoise(x.mean - y.mean, Math.sqrt(x.std ** 2 / x.n + y.std ** 2 / y.n))} by the spread of the launches' rates`;
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
  const { one, after: two, overlapped } = setupsOf(summarise(record));
  const compared = overlapped === undefined ? '' : ', the latter with the gradient all-reduce after backward and overlapped with it';
  const lines = [
    '',
    `\`${record.command}\` (${record.at.slice(0, 10)}): 1 process x 2 threads against 2 processes x 1 thread${compared}, ${s.recipe}, global batch ${s.batchSize}, ` +
    `${s.warmup} untimed and ${s.steps} timed steps per launch, ${s.rounds} round(s) taking turns at going first, Flickr8k train through the real loader, ` +
    `c10d/Gloo over 127.0.0.1. Host: ${describeHost(h)}; ${describeLoad(h.loadAverage, record.loadAverageAtEnd)} ` +
    '(other jobs share this machine: the absolute images/s are what it gave this run, not what it can do).',
    ...(s.quick ? ['', '**A `--quick` smoke run**: too few steps to quote as a measurement; `npm run bench:distributed` (without --quick) records a full one.'] : []),
    '',
    ...markdownTable(['launch', 'images/s', 'time in collectives', 'data wait'], rows),
    '',
  ];
  if (one !== undefined && two !== undefined) {
    lines.push(`So ${two.name} ran at ${(two.rate / one.rate).toFixed(2)}x the images/s of ${one.name} (${two.rate.toFixed(1)} against ${one.rate.toFixed(1)}), ` +
      `${judgedRates(two.rates, one.rates)}; ${percent(two.commShare, { digits: 0, unit: true })} of their step time was spent in collectives (the embedding all-gathers and the gradient ` +
      'all-reduce, waiting for the slower rank included).', '');
  }
  if (two !== undefined && overlapped !== undefined) {
    const launches = record.launches.filter((l) => l.name === overlapped.name);
    const early = launches.reduce((n, l) => n + (l.bucketLaunchesDuringBackward ?? 0), 0), all = launches.reduce((n, l) => n + (l.bucketLaunches ?? 0), 0);
    lines.push(`With the gradient all-reduce overlapped with backward, the time blocked in collectives was ${percent(overlapped.commShare, { digits: 1, unit: true })} ` +
      `of the step, against ${percent(two.commShare, { digits: 1, unit: true })} with it after backward, at ${(overlapped.rate / two.rate).toFixed(2)}x the images/s ` +
      `(${overlapped.rate.toFixed(1)} against ${two.rate.toFixed(1)}), ${judgedRates(overlapped.rates, two.rates)}; ${early} of its ${all} bucket all-reduces were launched ` +
      'while backward still ran.', '');
  }
  return lines;
}
