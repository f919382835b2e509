// Which levers of the recipe on a locked ImageNet tower the probes change,
// and what they are compared with: E3's HyperCLIP runs (MobileNet v2 at
// 160 px, the norms of its last two stages generated, the encoder locked),
// whose three seeds give the spread a one-seed probe is judged against.
export const BASELINE_RECIPE = 'mnv2-hyperclip-lit';
export const BASELINE_OUT = 'runs/experiment';
export const DEFAULT_OUT = 'runs/tower-probes';
export const REPORT_FILE = 'docs/tower-probes.md';
export const DEFAULT_SEEDS = '0';

export type Question = 'resolution' | 'generated stages' | 'locked or tuned';

export interface Probe {
  recipe: string;
  question: Question;
  /** What it changes from the baseline, for the report. */
  lever: string;
}

export const PROBES: readonly Probe[] = [
  { recipe: 'mnv2-hyperclip-lit-px128', question: 'resolution', lever: '128 px instead of 160 (train and validation)' },
  { recipe: 'mnv2-hyperclip-lit-px96', question: 'resolution', lever: '96 px instead of 160 (train and validation)' },
  { recipe: 'mnv2-hyperclip-lit-last1', question: 'generated stages', lever: 'the last stage\'s norms generated (the head convolution: 1 norm layer) instead of the last two' },
  { recipe: 'mnv2-hyperclip-lit-last5', question: 'generated stages', lever: 'the last five stages\' norms generated (blocks 6-16 and the head: 34 norm layers, about the share v1\'s last two stages cover) instead of the last two' },
  { recipe: 'mnv2-hyperclip-lit-tuned', question: 'locked or tuned', lever: 'the two generated stages\' weights (block 16 and the head convolution) tuned at a tenth of the learning rate instead of locked' },
];

/** The baseline's image size, for the resolution rows. */
export const BASELINE_IMAGE_SIZE = 160;

export const probeRunName = (recipe: string, seed: number): string => `${recipe}-s${seed}`;

export function parseProbes(list: string): Probe[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new Error('--probes is empty: name at least one probe, or leave the option out for all');
  return names.map((name) => {
    const probe = PROBES.find((p) => p.recipe === name || p.recipe === `${BASELINE_RECIPE}-${name}`);
    if (probe === undefined) throw new Error(`unknown probe "${name}"; known: ${PROBES.map((p) => p.recipe.slice(BASELINE_RECIPE.length + 1)).join(', ')}`);
    return probe;
  });
}
