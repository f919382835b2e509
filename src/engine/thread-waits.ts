// How libtorch's two thread pools wait between pieces of work. libtorch's
// intra-op threads are libgomp's; its matrix products run on OpenBLAS's own
// pthreads. Left to their defaults, both keep spinning after their work for
// more (libgomp for a while, OpenBLAS for 2^28 cycles), so on a machine with
// as many threads as cores each pool's spinners hold the cores the other
// pool's next op needs: on the 2-core dev machine HyperCLIP's MobileNet LiT
// recipe trained 9% slower and its hypernetwork's forward took 112 wall ms
// a step instead of 20 (docs/performance.md, "Thread waits"). Both libraries read these
// variables once, when they load, so they are set before the addon is.
// A value the user set is kept: set them yourself to choose otherwise, or
// HYPERCLIP_THREAD_WAITS=library to leave both libraries' own defaults
// (how every figure before 2026-12-06 was measured).

/** The waits the engine asks for unless the environment already names one. */
export const THREAD_WAIT_DEFAULTS: Readonly<Record<string, string>> = {
  // libgomp: threads sleep as soon as a parallel region ends.
  OMP_WAIT_POLICY: 'PASSIVE',
  // OpenBLAS: its idle threads spin 2^4 cycles (its minimum) before they sleep.
  OPENBLAS_THREAD_TIMEOUT: '4',
};

/** Sets each default the environment does not name (child processes, such as the PyTorch reference of the benches, inherit them); returns the names it set. */
export function applyThreadWaitDefaults(env: NodeJS.ProcessEnv = process.env): string[] {
  const choice = env.HYPERCLIP_THREAD_WAITS;
  if (choice === 'library') return [];
  if (choice !== undefined && choice !== 'passive') {
    throw new Error(`HYPERCLIP_THREAD_WAITS must be "passive" (the default: threads sleep between ops) or "library" (libgomp's and OpenBLAS's own spinning waits), got "${choice}"`);
  }
  const set: string[] = [];
  for (const [name, value] of Object.entries(THREAD_WAIT_DEFAULTS)) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
