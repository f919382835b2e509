// The machine a measurement ran on, as its record keeps it: a report states
// the recorded host, never the machine that happens to rebuild it.
import os from 'node:os';

export interface Host { cpus: number; cpuModel: string; platform: string; node: string; loadAverage: number[] }

export const host = (): Host => ({
  cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.arch()}`, node: process.version,
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
});
