// What the benchmark scripts share about their command line: the entry
// guard every bench and experiment script uses (tools/script-entry.ts,
// re-exported so the benches import their command-line helpers from one
// place), and the wording of --quick.
export { isEntryPoint } from '../../tools/script-entry.js';

/** The description every bench gives --quick. */
export const QUICK = 'a short run (a minute or two on 2 cores): a smoke test of the bench, not a measurement to quote';
