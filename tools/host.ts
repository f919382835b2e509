// The machine a measurement ran on, as its record keeps it: a report states
// the recorded host, never the machine that happens to rebuild it, and every
// report words it with describeHost (and describeLoad where it has the load).
import os from 'node:os';

export interface Host { cpus: number; cpuModel: string; platform: string; node: string; loadAverage: number[] }

/** What a report names of a host: the machine without its load (what the training runs record). */
export type Machine = Pick<Host, 'cpus' | 'cpuModel' | 'platform' | 'node'>;

export const host = (): Host => ({
  cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.arch()}`, node: process.version,
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
});

/** The recorded machine in words: "2 × AMD EPYC, linux x64, Node v20.20.2". */
export function describeHost(h: Machine): string {
  return `${h.cpus} × ${h.cpuModel}, ${h.platform}, Node ${h.node}`;
}

/** The recorded 1-minute load average in words: "load average 1.2 at the start", then " and 1.5 at the end" when the end's is recorded too. */
export function describeLoad(start: number[], end?: number[]): string {
  return `load average ${start[0]} at the start${end === undefined ? '' : ` and ${end[0]} at the end`}`;
}
