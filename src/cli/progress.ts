// Progress bars on stderr (cli-progress), quiet when stderr is not a terminal
// (CI, pipes): then a plain line every few percent instead; and the one-line
// summary every command ends with.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string>): void;
  stop(): void;
  log(text: string): void;
}

export function createProgress(label: string, total: number, start = 0, format = ''): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}${format}`,
      stream: process.stderr, hideCursor: true, clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, start, {});
    let stopped = false;
    return {
      update: (done, fields) => bar.update(done, fields ?? {}),
      stop: () => { if (!stopped) { bar.stop(); stopped = true; } },
      log: (text) => { process.stderr.write(`\r\x1b[K${text}\n`); },
    };
  }
  let lastShown = -1;
  const started = Date.now();
  return {
    update: (done, fields) => {
      const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
      if (percent >= lastShown + 10 || done === total) {
        lastShown = percent;
        const elapsed = (Date.now() - started) / 1000;
        const extra = fields ? ' ' + Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' ') : '';
        process.stderr.write(`${label} ${done}/${total} (${percent}%) ${elapsed.toFixed(0)}s${extra}\n`);
      }
    },
    stop: () => undefined,
    log: (text) => process.stderr.write(`${text}\n`),
  };
}

/**
 * The one-line summary a command ends with: on stdout, except under --json,
 * where stdout carries only the JSON document (so `| jq` and JSON.parse work)
 * and the summary goes to stderr beside the progress.
 */
export function printSummary(line: string, json = false): void {
  if (json) process.stderr.write(`${line}\n`);
  else console.log(line);
}
