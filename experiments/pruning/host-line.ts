// The machine of a run as its record says (the one that rebuilds the report may be another).
import { describeHost, describeLoad } from '../../tools/host.js';
import type { HostRecord, ResultRecord } from './records.js';

export function hostLine(results: ResultRecord[]): string {
  const host = results.filter((r): r is HostRecord => r.kind === 'host').at(-1);
  if (host === undefined) return 'Machine: not recorded (these results predate the host record; a rerun adds it).';
  return `Machine (recorded ${host.at.slice(0, 10)}): ${describeHost(host)}, ${describeLoad(host.loadAverage)} of \`${host.command}\`.`;
}
