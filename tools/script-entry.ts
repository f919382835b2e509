// Every bench and experiment script exports `cli()`, its commander program,
// and runs only when node was started on it, so the test of the documented
// command lines (test/docs/command-lines.test.ts) can parse `npm run x -- ...`
// with the script's own options without running it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether the module at moduleUrl is the script node was started with (not imported). */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && path.resolve(script) === fileURLToPath(moduleUrl);
}

/**
 * The script's commander action: runs main with the parsed options and, when
 * it throws, writes "name: message" to stderr and sets a failing exit code
 * (letting pending output flush) instead of printing a stack trace.
 */
export function reportingErrors<O>(name: string, main: (opts: O) => Promise<void>): (opts: O) => Promise<void> {
  return async (opts) => {
    try {
      await main(opts);
    } catch (err) {
      process.stderr.write(`${name}: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}
