// The pretrained mode's section of docs/pruning.md, from its records: per
// imported network, Wanda against magnitude on the image encoder alone, by
// the ImageNet head's top-1 on imagenet-sample. Each comparison is paired
// over calibration draws (magnitude is deterministic: its one run pairs with
// every draw) and, since both methods classify the same images, image by
// image; the verdict is the reports' one noise rule (tools/stats.ts) on both
// spreads together.
import { markdownTable, percent } from '../../src/eval/format.js';
import { judgeNoise, pairedDifference, pairedNoise, pairedStandardError, spread, type NoiseVerdict, type PairedDifference, type Spread } from '../../tools/stats.js';
import { hostLine } from './host-line.js';
import { unpackHits } from './hits.js';
import type { ImagenetRecord, ResultRecord } from './records.js';

/** The full run of the section: the MobileNet v2 the shipped default (mnv2-hyperclip-lit) locks as its image tower at 160 px, here at its own 224 px. */
export const FULL_PRETRAINED_COMMAND = 'npm run experiment:pruning -- --pretrained ../shared/data/pretrained/mobilenet_v2_1.0_224_quant.tflite';

/** Wanda against magnitude at one sparsity. */
export interface Comparison {
  level: string;
  magnitude: number;
  wanda: Spread;
  /** wanda − magnitude top-1 over the calibration draws. */
  difference: PairedDifference;
  /** Standard error of the mean over draws, and of the image sample (the per-image difference, averaged over draws). */
  drawError: number;
  imageError: number;
  /** The verdict on both spreads together, and on the draws alone. */
  verdict: NoiseVerdict;
  drawVerdict: NoiseVerdict;
  /** Share of the pruned layers' weights set to zero (wanda's first draw). */
  overall: number;
}

const pct = (x: number): string => percent(x, { digits: 1 });
const points = (x: number): string => percent(x, { digits: 1, sign: true });

/** Ratios ascending, then N:M by kept fraction. */
function levelOrder(a: string, b: string): number {
  const key = (l: string): [number, number] => (l.includes(':') ? [1, Number(l.split(':')[0]) / Number(l.split(':')[1])] : [0, Number(l)]);
  const [x, y] = [key(a), key(b)];
  return x[0] - y[0] || x[1] - y[1] || a.localeCompare(b);
}

/** The magnitude point and the wanda points (by draw) recorded at `level`. */
function pointsAt(records: ImagenetRecord[], level: string): { magnitude: ImagenetRecord | undefined; wanda: ImagenetRecord[] } {
  return {
    magnitude: records.find((r) => r.method === 'magnitude' && r.level === level),
    wanda: records.filter((r) => r.method === 'wanda' && r.level === level).sort((a, b) => a.draw - b.draw),
  };
}

/** Wanda (every draw) against magnitude at `level`; null while either is missing. */
export function compare(records: ImagenetRecord[], level: string): Comparison | null {
  const { magnitude, wanda } = pointsAt(records, level);
  if (magnitude === undefined || wanda.length === 0) return null;
  const difference = pairedDifference(new Map(wanda.map((r) => [r.draw, r.top1])), new Map(wanda.map((r) => [r.draw, magnitude.top1])));
  const n = magnitude.samples;
  const base = unpackHits(magnitude.hits, n);
  const draws = wanda.map((r) => unpackHits(r.hits, n));
  const perImage = Array.from({ length: n }, (_, i) => draws.reduce((s, h) => s + h[i]!, 0) / draws.length - base[i]!);
  const imageError = spread(perImage).std / Math.sqrt(n);
  const drawError = pairedStandardError(difference);
  // One draw has no draw spread: the image spread alone is then all there is to judge by.
  const error = Math.hypot(Number.isFinite(drawError) ? drawError : 0, imageError);
  return {
    level, magnitude: magnitude.top1, wanda: spread(wanda.map((r) => r.top1)), difference, drawError, imageError,
    verdict: judgeNoise(difference.mean, error), drawVerdict: pairedNoise(difference), overall: wanda[0]!.overall,
  };
}

const wandaCell = (wanda: Spread): string => (wanda.n === 0 ? '–' : wanda.n > 1 ? `${pct(wanda.mean)} ± ${pct(wanda.std)} (${wanda.n})` : `${pct(wanda.mean)} (1)`);

function table(records: ImagenetRecord[], levels: string[]): string[] {
  const rows = levels.map((level) => {
    const c = compare(records, level);
    if (c === null) {
      // One method is not measured yet at this level: show what the other has.
      const { magnitude, wanda } = pointsAt(records, level);
      return [level, '–', magnitude === undefined ? '–' : pct(magnitude.top1), wandaCell(spread(wanda.map((r) => r.top1))), '–', '–', '–', '–', '–', '–'];
    }
    return [level, `${pct(c.overall)}%`, pct(c.magnitude), wandaCell(c.wanda), points(c.difference.mean), `${c.difference.wins} of ${c.difference.n}`,
      Number.isFinite(c.drawError) ? pct(c.drawError) : '–', pct(c.imageError), c.verdict, c.drawVerdict];
  });
  return markdownTable(['sparsity', 'weights zeroed', 'magnitude', 'wanda (mean ± std, draws)', 'wanda − magnitude', 'draws wanda ahead',
    'SE over draws', 'SE over images', 'verdict', 'verdict, draws alone'], rows);
}

function target(records: ImagenetRecord[], dense: ImagenetRecord | undefined): string {
  const parts = ['0.5', '2:4'].map((level) => {
    const c = compare(records, level);
    if (c === null) return `${level}: not measured yet`;
    const met = c.difference.mean > 0 && c.verdict === 'beyond noise';
    const twoSe = 2 * Math.hypot(Number.isFinite(c.drawError) ? c.drawError : 0, c.imageError);
    return `${level}: **${met ? 'met' : 'not met'}**, wanda − magnitude ${points(c.difference.mean)} points over ${c.difference.n} draws ` +
      `(wanda ahead in ${c.difference.wins}; twice the standard error ${pct(twoSe)} points${met ? '' : `, so ${c.difference.mean > 0 ? `${pct(twoSe - c.difference.mean)} points short of beyond noise` : 'magnitude ahead on the mean'}`})`;
  });
  return `- Target: Wanda above magnitude beyond noise at 50% and at 2:4${dense === undefined ? '' : ` (dense: ${pct(dense.top1)}%)`}. ${parts.join('; ')}.`;
}

function networkSection(records: ImagenetRecord[], hosts: ResultRecord[]): string[] {
  const first = records[0]!;
  const dense = records.find((r) => r.method === 'dense');
  const levels = [...new Set(records.filter((r) => r.method !== 'dense').map((r) => r.level))].sort(levelOrder);
  const calibrations = [...new Map(records.filter((r) => r.method === 'wanda').map((r) => [`${r.calibData} ${r.calibN}`, r])).values()];
  const seconds = records.map((r) => r.seconds);
  const lines = [`### \`${first.source}\`, ${first.limit} images`, '',
    `${hostLine(hosts)} One libtorch thread; one point (prune + evaluate) took ${Math.min(...seconds).toFixed(0)}–${Math.max(...seconds).toFixed(0)} s of wall clock.`, '',
    dense === undefined ? '- Dense: not measured yet.' : `- Dense (unpruned): top-1 **${pct(dense.top1)}%**, top-5 ${pct(dense.top5)}% on ${dense.samples} images.`];
  if (calibrations.length === 0) return [...lines, '- Wanda: not measured yet.', ''];
  for (const calibration of calibrations) {
    const mine = records.filter((r) => r.method !== 'wanda' || (r.calibData === calibration.calibData && r.calibN === calibration.calibN));
    const draws = [...new Set(mine.filter((r) => r.method === 'wanda').map((r) => r.draw))].sort((a, b) => a - b);
    lines.push(`- Wanda calibrated on ${calibration.calibN} unlabelled \`${calibration.calibData}\` images per draw (draws ${draws.join(', ')}).`, target(mine, dense), '',
      'Top-1 in percent, differences and standard errors in points:', '', ...table(mine, levels), '');
  }
  return lines;
}

/** The section; its records are every 'imagenet' record and the host records of their networks. */
export function pretrainedSection(records: ResultRecord[]): string[] {
  const points = records.filter((r): r is ImagenetRecord => r.kind === 'imagenet');
  const lines = ['## The pretrained image encoder alone: ImageNet top-1 on imagenet-sample', '',
    'An ImageNet-trained MobileNet (`../shared/data/pretrained`, imported as `hyperclip import` does) with its image encoder pruned and its ' +
    '1000-class ImageNet head left dense, so the head\'s top-1 checks the encoder alone on a network worth compressing. Pruned: every dense convolution of the ' +
    'encoder (the stem and the 1x1 convolutions), each output row on its own or N:M, by the same pruner as above; depthwise convolutions stay dense; no ' +
    'retraining. Wanda is calibrated on unlabelled images that are not the evaluated ones (default: Tiny ImageNet **train**, 64 px images resized to the ' +
    'network\'s input like every evaluated image), one seeded draw per calibration draw; magnitude needs no data: one run. Top-1 is counted as ' +
    '`hyperclip eval --model DIR --dataset imagenet-sample` counts it (its sample under a limit, libtorch, `src/eval/scoring.ts`), over the 1000-image ' +
    'sample (one image per class; easier than the ImageNet val set, see the data README).',
    '',
    'Noise: "wanda − magnitude" is paired over calibration draws (`pairedDifference`; magnitude\'s one run pairs with every draw), which measures what the ' +
    'draw changes; both methods classify the same images, so the per-image difference (averaged over draws) gives the standard error of the image sample. ' +
    '"verdict" judges the mean difference against both standard errors together (root sum of squares) by the reports\' rule (`judgeNoise`: beyond noise when ' +
    'over twice the standard error); "verdict, draws alone" against the draws\' spread only, which ignores that another 1000 images would give other figures.',
    '',
    `Full run (levels 0.3, 0.5, 0.6, 0.7, 0.8, 2:4 and 4:8, 3 draws of 128 calibration images, all 1000 images; it resumes after a stop): \`${FULL_PRETRAINED_COMMAND}\`. ` +
    '`--pretrained` also takes a folder made by `hyperclip import`, `--calib-data` other unlabelled images, `--limit N` a seeded sample of imagenet-sample.',
    ''];
  if (points.length === 0) return [...lines, 'Not measured yet.', ''];
  const groups = new Map<string, ImagenetRecord[]>();
  for (const r of points) {
    const key = `${r.modelCrc} ${r.limit}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const group of groups.values()) {
    lines.push(...networkSection(group, records.filter((r) => r.kind === 'host' && r.modelCrc === group[0]!.modelCrc)));
  }
  return lines;
}
