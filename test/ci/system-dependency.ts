// Tests that need a system program (the PyTorch reference, the ONNX checker,
// Chromium, NumPy) skip without it on a developer's machine. The CI sets
// CI=true and installs them all (scripts/setup.sh): there a missing one fails
// the run instead, so a broken install cannot pass as a row of skips.

const underCi = (env: NodeJS.ProcessEnv): boolean => env.CI === 'true' || env.CI === '1';

const missing = (reason: string): Error =>
  new Error(`${reason} (CI=true: a missing system dependency fails the run instead of skipping the test)`);

/** A test's skip option: the reason when the dependency is missing, except under CI=true, where the test runs and dependencyPresent fails it. */
export function skipWithout(available: boolean, reason: string, env: NodeJS.ProcessEnv = process.env): string | false {
  return available || underCi(env) ? false : reason;
}

/** Whether to run a check that needs the dependency; under CI=true a missing one throws the reason instead of answering false. */
export function dependencyPresent(available: boolean, reason: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!available && underCi(env)) throw missing(reason);
  return available;
}
