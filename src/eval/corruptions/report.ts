// The human table of a corruption evaluation: one row per corruption, one
// column per severity, then the clean and mean corrupted accuracy.
import type { CorruptionResult } from './evaluate.js';
import { tablePercent } from '../format.js';

export function formatCorruptions(r: CorruptionResult): string {
  const header = `${'corruption'.padEnd(16)}${r.severities.map((s) => `   sev ${s}`).join('')}     mean`;
  const lines = [`samples ${r.samples}   seed ${r.seed}   clean top-1 ${tablePercent(r.clean)}`, '', header];
  for (const { corruption, top1 } of r.perCorruption) {
    const cells = r.severities.map((s) => ` ${tablePercent(r.scores.find((x) => x.corruption === corruption && x.severity === s)!.top1)}`);
    lines.push(`${corruption.padEnd(16)}${cells.join('')}  ${tablePercent(top1)}`);
  }
  lines.push('', `mean corrupted top-1 ${tablePercent(r.meanCorrupted)}   clean ${tablePercent(r.clean)}`);
  return lines.join('\n');
}
