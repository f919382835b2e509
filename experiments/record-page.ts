// The shape every single-record experiment shares: with --report-only, the
// page is rebuilt from the committed record (and a missing record is one
// line saying to run first); otherwise the run's record is written, then the
// page from it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../src/engine/atomic-write.js';
import { projectRoot } from '../src/project-root.js';
import { useAllCores } from '../src/engine/index.js';

export interface RecordPage { file: string; doc: string; reportOnly?: boolean }

/** The new record, or null when only the page was rebuilt (that is printed here). */
export async function recordThenPage<R>(where: RecordPage, run: () => Promise<R>, page: (record: R) => string): Promise<R | null> {
  const shown = path.relative(projectRoot(), where.file);
  if (where.reportOnly) {
    if (!existsSync(where.file)) throw new Error(`no record ${shown}: run the command without --report-only first`);
    writeFileSync(where.doc, page(JSON.parse(readFileSync(where.file, 'utf8')) as R));
    console.log(`wrote ${where.doc} from ${shown}`);
    return null;
  }
  useAllCores();
  const record = await run();
  mkdirSync(path.dirname(where.file), { recursive: true });
  // Hours of measurement: a write cut short must leave the last record whole.
  writeJsonAtomic(where.file, record, 1);
  writeFileSync(where.doc, page(record));
  return record;
}
