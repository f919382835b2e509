// Human-readable tables of evaluation results.
import type { RetrievalResult } from './retrieval.js';
import type { ZeroShotResult } from './zeroshot.js';
import { tablePercent } from './format.js';

export function formatZeroShot(r: ZeroShotResult, worst = 5): string {
  const lines = [`samples ${r.samples}   top-1 ${tablePercent(r.top1)}   top-5 ${tablePercent(r.top5)}`, '', 'per class (worst first):'];
  const byAccuracy = [...r.perClass].filter((c) => c.count > 0).sort((a, b) => a.accuracy - b.accuracy);
  const shown = byAccuracy.length <= 2 * worst ? byAccuracy : [...byAccuracy.slice(0, worst), null, ...byAccuracy.slice(-worst)];
  for (const c of shown) lines.push(c === null ? '  ...' : `  ${c.name.padEnd(24)} ${tablePercent(c.accuracy)}  (${c.count})`);
  if (r.confusions.length > 0) {
    lines.push('', 'most frequent confusions (truth -> predicted):');
    for (const c of r.confusions.slice(0, 5)) lines.push(`  ${c.truth} -> ${c.predicted}: ${c.count}`);
  }
  lines.push('', r.skipped);
  return lines.join('\n');
}

export function formatRetrieval(r: RetrievalResult): string {
  return [
    `images ${r.images}   captions ${r.captions}`,
    `image -> text   R@1 ${tablePercent(r.imageToText.r1)}   R@5 ${tablePercent(r.imageToText.r5)}   R@10 ${tablePercent(r.imageToText.r10)}`,
    `text -> image   R@1 ${tablePercent(r.textToImage.r1)}   R@5 ${tablePercent(r.textToImage.r5)}   R@10 ${tablePercent(r.textToImage.r10)}`,
    r.skipped,
  ].join('\n');
}
