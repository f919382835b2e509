// Wall-clock timing as the benches and experiments measure it: calls timed
// in interleaved rounds, so drift in machine load hits every call alike, and
// a timing kept as its median and quartiles, so a report can judge a
// difference against its spread.
import { median } from './stats.js';

/** Seconds of each call in each of `runs` interleaved rounds, after `warmup` untimed rounds. */
export async function timeInterleavedSamples(calls: Record<string, () => Promise<unknown>>, runs: number, warmup: number): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let r = 0; r < warmup + runs; r++) {
    for (const [name, call] of Object.entries(calls)) {
      const start = performance.now();
      await call();
      if (r >= warmup) times[name]!.push((performance.now() - start) / 1000);
    }
  }
  return times;
}

/** Median seconds of each call over `runs` interleaved rounds, after `warmup` untimed rounds. */
export async function timeInterleaved(calls: Record<string, () => Promise<unknown>>, runs: number, warmup: number): Promise<Record<string, number>> {
  const times = await timeInterleavedSamples(calls, runs, warmup);
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

/** A timing as a report keeps it: the median of n repeats and its quartiles (seconds or ms, as measured). */
export interface Timing { median: number; q1: number; q3: number; n: number }

export function timing(samples: number[]): Timing {
  const sorted = samples.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (q: number) => {
    const i = q * (sorted.length - 1), lo = Math.floor(i), hi = Math.ceil(i);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75), n: sorted.length };
}

/**
 * The standard error of a timing's median, from its interquartile range (a
 * normal approximation: sigma ~ IQR / 1.349, SE ~ 1.2533 sigma / sqrt(n)).
 * Repeats timed back to back are correlated, so this is if anything too small.
 */
export const medianStandardError = (t: Timing): number => (t.n >= 4 ? (1.2533 * (t.q3 - t.q1)) / 1.349 / Math.sqrt(t.n) : NaN);
