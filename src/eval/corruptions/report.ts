// The human table of a corruption evaluation: one row per corruption, one
// column per severity, then the clean and mean corrupted accuracy.
import type { CorruptionResult } from './evaluate.js';
import { percent } from '../format.js';

const pct = (x: number): string => percent(x, { width: 6, unit: true, missing: 'n/a' });

export function formatCorruptions(r: CorruptionResult): string {
  const header = `${'corruption'.padEnd(16)}${r.severities.map((s) => `   sev ${s}`).join('')}     mean`;
  const lines = [`samples ${r.samples}   seed ${r.seed}   clean top-1 ${pct(r.clean)}`, '', header];
  for (const { corruption, top1 } of r.perCorruption) {
    const cells = r.severities.map((s) => ` ${pct(r.scores.find((x) => x.corruption === corruption && x.severity === s)!.top1)}`);
    lines.push(`${corruption.padEnd(16)}${cells.join('')}  ${pct(top1)}`);
  }
  lines.push('', `mean corrupted top-1 ${pct(r.meanCorrupted)}   clean ${pct(r.clean)}`);
  return lines.join('\n');
}
