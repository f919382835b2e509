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
