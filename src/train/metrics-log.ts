// Append-only JSONL metrics log: one JSON object per line, flushed as written,
// so a killed run keeps everything logged before it died.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type MetricsRecord = Record<string, number | string | boolean | null | Record<string, number>>;

export class MetricsLog {
  constructor(readonly file: string) {}

  write(record: MetricsRecord): void {
    appendFileSync(this.file, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
  }

  /** Records in the log, skipping a torn last line. */
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
}
