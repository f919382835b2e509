// What an experiment that trains recipes into run folders needs around
// src/train's `train`: progress lines, the host record, the check that a
// finished run folder was trained with the config asked for now, and the
// entry point that runs it from the command line.
import type { Command, OptionValues } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../src/engine/atomic-write.js';
import type { TrainConfig } from '../../src/train/recipes.js';
import type { TrainReporter } from '../../src/train/reporter.js';
import { host } from '../../tools/host.js';

export const HOST_FILE = 'host.json';

export const say = (text: string): boolean => process.stderr.write(`${text}\n`);

/** Progress on stderr every 50 steps and at the end, each line tagged with the run's label. */
export function lineReporter(label: string): TrainReporter {
  let total = 0;
  return {
    start: (steps, from) => { total = steps; say(`${label} training steps ${from + 1}..${steps}`); },
    step: (step, info) => {
      if (step % 50 === 0 || step === total) say(`${label} step ${step}/${total} loss ${info.loss.toFixed(4)} lr ${info.lr.toExponential(2)} ${info.imagesPerSecond.toFixed(1)} img/s`);
    },
    message: (text) => say(`${label} ${text}`),
    stop: () => {},
  };
}

/** The machine a run trained on, written once (a resumed run keeps its first record). */
export function writeHost(dir: string): void {
  const file = path.join(dir, HOST_FILE);
  if (existsSync(file)) return;
  const { cpus, cpuModel, platform, node } = host(); // the machine without its load: a run's host.json has no load average
  writeJsonAtomic(file, { cpus, cpuModel, platform, node, started: new Date().toISOString() });
}

/** True once the run's metrics log holds its summary record. */
export function hasSummary(dir: string): boolean {
  const file = path.join(dir, 'metrics.jsonl');
  return existsSync(file) && readFileSync(file, 'utf8').includes('"event":"summary"');
}

/** A finished run is only skipped when it was trained with the config asked for now; `hint` says which options to pass. */
export function checkSameConfig(dir: string, config: TrainConfig, hint: string): void {
  const file = path.join(dir, 'train-config.json');
  const recorded = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (recorded !== JSON.stringify(config, null, 2) + '\n') {
    throw new Error(`${dir} holds a finished run with a different training config: move it away, or ${hint}`);
  }
}

/**
 * Parses the command line and runs main; an error is one line on stderr and
 * exit code 1. Workaround: a data loader can wait on work that holds no
 * reference on the event loop (seen with evaluations that stop at a --limit),
 * and Node then exits silently mid-run with code 0 or 13; a referenced timer
 * keeps the process alive until main() settles.
 */
export function runExperiment<Options extends OptionValues>(name: string, program: Command, main: (opts: Options) => Promise<void>): void {
  const keepAlive = setInterval(() => undefined, 1 << 30);
  program.parseAsync(process.argv).then(() => main(program.opts<Options>())).catch((err: Error) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exitCode = 1;
  }).finally(() => clearInterval(keepAlive));
}
