// Run records of the benches that feed a doc: one JSON line per run in
// runs/bench/<name>.jsonl (committed), with the settings and the host as
// they were, so the doc's table is rebuilt from the record (--report-only)
// and never typed by hand.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/project-root.js';

export interface Host { cpus: number; cpuModel: string; platform: string; node: string; loadAverage: number[] }

export const host = (): Host => ({
  cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.arch()}`, node: process.version,
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
});

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
