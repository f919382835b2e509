// Append-only JSONL metrics log: one JSON object per line, flushed as written,
// so a killed run keeps everything logged before it died. A resumed run goes
// back to its checkpoint's step and logs the steps after it again; it marks
// that with a { event: 'resume', step } line rather than rewriting history,
// and lastLife() reads the log as the run's last life left it.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type MetricsRecord = Record<string, number | string | boolean | null | Record<string, number>>;

export class MetricsLog {
  constructor(readonly file: string) {}

  write(record: MetricsRecord): void {
    appendFileSync(this.file, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
  }

  /** Every record in the log, superseded ones included, skipping a torn last line. */
  read(): MetricsRecord[] {
    if (!existsSync(this.file)) return [];
    const out: MetricsRecord[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // a line cut by a kill: everything before it is intact
      }
    }
    return out;
  }

  /** The records as of the run's last life (lastLife), for curves and tables. */
  readLastLife(): MetricsRecord[] {
    return lastLife(this.read());
  }
}

/** Events whose step a resume can take back: the steps after the checkpoint are trained, and logged, again. */
const STEP_EVENTS = new Set(['train', 'validation']);

/**
 * The records without those a later resume superseded: a train or validation
 * record with a step past the step of any resume logged after it. Other
 * records (the resumes themselves, the warm start, the summary) are kept, and
 * a log without resume records reads unchanged.
 */
export function lastLife<T extends Record<string, unknown>>(records: T[]): T[] {
  // From the end: a record answers to every resume logged after it, the one that went back furthest first.
  let resumedAt = Infinity;
  const kept: T[] = [];
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.event === 'resume' && typeof r.step === 'number') resumedAt = Math.min(resumedAt, r.step);
    else if (STEP_EVENTS.has(r.event as string) && typeof r.step === 'number' && r.step > resumedAt) continue;
    kept.push(r);
  }
  return kept.reverse();
}
