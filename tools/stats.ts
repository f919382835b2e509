// Summary statistics over seeds and draws, and the one noise rule of every
// generated report (experiments/ and bench/ both judge by it). The standard
// deviation is the sample one (n - 1): with three seeds the population
// formula would understate spread.

export interface Spread {
  n: number;
  mean: number;
  /** NaN when n < 2: one run says nothing about spread. */
  std: number;
}

export function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { n: 0, mean: NaN, std: NaN };
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, std: NaN };
  const squares = finite.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { n, mean, std: Math.sqrt(squares / (n - 1)) };
}

export interface PairedDifference extends Spread {
  /** The seeds present for both models, in order. */
  seeds: number[];
  /** How many of the paired seeds have a > b. */
  wins: number;
}

/** a - b over the seeds both have (seeds paired: same data order and initial seed). */
export function pairedDifference(a: Map<number, number>, b: Map<number, number>): PairedDifference {
  const seeds = [...a.keys()].filter((s) => b.has(s) && Number.isFinite(a.get(s)) && Number.isFinite(b.get(s))).sort((x, y) => x - y);
  const diffs = seeds.map((s) => a.get(s)! - b.get(s)!);
  return { ...spread(diffs), seeds, wins: diffs.filter((d) => d > 0).length };
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The one noise rule of every generated report: a difference is beyond noise
 * when it is more than twice its standard error (a rough rule for a few
 * seeds or draws, not a significance test). Tables, headlines and summary
 * lines all judge by it, so they cannot disagree.
 */
export type NoiseVerdict = 'beyond noise' | 'within noise' | 'no spread to judge';

export function judgeNoise(difference: number, standardError: number): NoiseVerdict {
  if (!Number.isFinite(difference) || !Number.isFinite(standardError)) return 'no spread to judge';
  return Math.abs(difference) > 2 * standardError ? 'beyond noise' : 'within noise';
}

/**
 * Fewest pairs whose spread a verdict trusts. Two pairs give a spread of one
 * degree of freedom: two seeds that happen to agree made a 0.05-point
 * retrieval difference "beyond noise" although each run's own sampling
 * error was about 0.2 points.
 */
export const MIN_PAIRS = 3;

/** The standard error of a mean difference over paired seeds or draws: std / √n (NaN below MIN_PAIRS pairs). */
export const pairedStandardError = (d: Spread): number => (d.n >= MIN_PAIRS ? d.std / Math.sqrt(d.n) : NaN);

/** The standard error of the difference of two accuracies a and b, each measured on n images (unpaired, so conservative). */
export const accuracyDifferenceError = (a: number, b: number, n: number): number => Math.sqrt((a * (1 - a) + b * (1 - b)) / n);

/** The standard error of one accuracy p measured on n images. */
export const accuracyError = (p: number, n: number): number => Math.sqrt((p * (1 - p)) / n);

/** The noise verdict of a seed-paired difference, as every table, headline and sentence of the results report states it. */
export const pairedNoise = (d: PairedDifference): NoiseVerdict => judgeNoise(d.mean, pairedStandardError(d));

/** A seeded source of uniform numbers in [0, 1) (src/data/random.ts's createRng fits). */
export type Uniform = () => number;

/** The 95% bootstrap interval of the median: the 2.5th and 97.5th percentiles of the medians of `samples` resamples with replacement. */
export function bootstrapMedianInterval(values: number[], uniform: Uniform, samples = 5000): [number, number] {
  if (values.length === 0) return [NaN, NaN];
  const medians = Array.from({ length: samples }, () => median(values.map(() => values[Math.floor(uniform() * values.length)]!)))
    .sort((a, b) => a - b);
  return [medians[Math.floor(0.025 * samples)]!, medians[Math.ceil(0.975 * samples) - 1]!];
}

/**
 * Two-sided permutation test of median(a) - median(b): the share of random
 * relabellings of the pooled values whose median difference is at least as
 * far from zero as the observed one.
 */
export function medianPermutationP(a: number[], b: number[], uniform: Uniform, samples = 20000): number {
  const observed = Math.abs(median(a) - median(b));
  const pool = [...a, ...b];
  let extreme = 0;
  for (let s = 0; s < samples; s++) {
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    if (Math.abs(median(pool.slice(0, a.length)) - median(pool.slice(a.length))) >= observed - 1e-12) extreme++;
  }
  return extreme / samples;
}
