// Run records of the benches that feed a doc: one JSON line per run in
// runs/bench/<name>.jsonl (committed), with the settings and the host as
// they were, so the doc's table is rebuilt from the record (--report-only)
// and never typed by hand.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/project-root.js';

// A record's host is described the same way by the benches and the experiments.
export { host, type Host } from '../../tools/host.js';

export const recordFile = (name: string): string => path.join(projectRoot(), 'runs', 'bench', `${name}.jsonl`);

export function appendRecord(name: string, record: object): string {
  const file = recordFile(name);
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(record) + '\n');
  return file;
}

export function readRecords<T>(name: string): T[] {
  const file = recordFile(name);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}
