// What the experiment compares: training configurations, each a pair of
// recipes (HyperCLIP and the SigLIP baseline) that differ only in the model.
export type ModelKind = 'hyperclip' | 'siglip';
export const MODEL_KINDS: ModelKind[] = ['hyperclip', 'siglip'];
export const MODEL_LABEL: Record<ModelKind, string> = { hyperclip: 'HyperCLIP', siglip: 'SigLIP' };

export type DatasetKey = 'cifar10' | 'cifar100' | 'flickr8k';

export interface Configuration {
  id: string;
  title: string;
  recipes: Record<ModelKind, string>;
  /** Evaluated datasets whose images (and class names) were seen in training. */
  seenInTraining: DatasetKey[];
  /** Anything a reader of the report must know about how the runs came to be. */
  note?: string;
  /**
   * A first-stage recipe trained once (seed 0) before the configuration's
   * runs, which start from its checkpoint (their recipes' init).
   */
  stage1?: string;
  /** The ImageNet-pretrained file the image tower starts from; absent: trained from scratch (the paper's setting). */
  pretrainedTower?: string;
}

/** What a reader of a tower configuration's cost table must know about how particular runs were timed. */
const TOWER_RUN_NOTES: Record<string, string> = {
  E3: ' The SigLIP seed-0 run was paused (SIGSTOP) for about 12 minutes while the test suite ran: its wall time includes the pause; its img/s, the median over 10-step log windows, is not moved by the one window that holds it.',
};

export const CONFIGURATIONS: Record<string, Configuration> = {
  A: { id: 'A', title: 'Flickr8k train only', recipes: { hyperclip: 'tiny-hyperclip', siglip: 'tiny-siglip' }, seenInTraining: [] },
  B: {
    id: 'B', title: 'Flickr8k train + CIFAR-100 train with templated captions',
    recipes: { hyperclip: 'tiny-hyperclip-c100', siglip: 'tiny-siglip-c100' }, seenInTraining: ['cifar100'],
  },
  C: {
    id: 'C', title: 'Flickr8k train only, the word prior\'s token embeddings frozen',
    recipes: { hyperclip: 'tiny-hyperclip-frozen-words', siglip: 'tiny-siglip-frozen-words' }, seenInTraining: [],
    note: 'The token embeddings keep the GloVe-derived word prior they start from; everything else trains as in A. ' +
      'The three HyperCLIP runs were first trained as the probe `experiments/probes/freeze-words.json` (docs/recipe-probes.md) and moved here: ' +
      'their recorded config differs from the recipe `tiny-hyperclip-frozen-words` only in its name, which labels the files and does not enter training.',
  },
  D: {
    id: 'D', title: 'Flickr8k + Tiny ImageNet (WordNet captions, same-class positives), image encoder pre-trained on Tiny ImageNet labels',
    recipes: { hyperclip: 'tiny-hyperclip-d', siglip: 'tiny-siglip-d' }, seenInTraining: [], stage1: 'tiny-tin-classify',
    note: 'Two stages. Stage 1 (`tiny-tin-classify`, trained once with seed 0 and shared by every run of D): the tiny image encoder ' +
      'learns Tiny ImageNet\'s 202 labels with cross-entropy. Stage 2 (the runs below): both models start their image encoder from ' +
      'stage 1 and tune it at a tenth of the learning rate; the text tower starts from the frozen word prior; the data are Flickr8k ' +
      'captions and Tiny ImageNet images with captions from prompt templates × WordNet synonyms and hypernym phrases ' +
      '("tabby, a kind of cat"), and captions of one class count as matches (same-class positives). The seeds vary stage 2 only. ' +
      'No CIFAR image is trained on; class names shared with the training labels are listed in the overlap section.',
  },
  ...Object.fromEntries(([
    ['E1', 'mnv1-025', 'MobileNet v1 width 0.25 at 128 px', 'mobilenet_v1_0.25_128_quant'],
    ['E2', 'mnv1-050', 'MobileNet v1 width 0.5 at 160 px', 'mobilenet_v1_0.5_160_quant'],
    ['E3', 'mnv2', 'MobileNet v2 width 1.0 at 160 px', 'mobilenet_v2_1.0_224_quant'],
  ] as const).map(([id, prefix, tower, file]): [string, Configuration] => [id, {
    id, title: `Locked ImageNet-pretrained ${tower}, distilled from its ImageNet head`,
    recipes: { hyperclip: `${prefix}-hyperclip-lit`, siglip: `${prefix}-siglip-lit` }, seenInTraining: [], pretrainedTower: `${file}.tflite`,
    note: `The image encoder is \`${file}.tflite\` (../shared/data/pretrained, Apache 2.0), trained on ImageNet-1k's 1.28M labelled images, ` +
      'and stays frozen; HyperCLIP generates the norms of its last two stages. Both models train the text tower (word prior frozen) and the projection ' +
      'with SigLIP on Flickr8k captions and Tiny ImageNet images named by WordNet (held-out classes left out, same-class positives), plus ' +
      'distillation of the ImageNet head into classifiers generated from ImageNet\'s names (held-out synsets never drawn). ImageNet-1k\'s ' +
      '1000 classes count as training labels: the overlap section lists the evaluated names among them.' + (TOWER_RUN_NOTES[id] ?? ''),
  }])),
  W3: {
    id: 'W3', title: 'E3 with the text side warm-started from the ImageNet head',
    recipes: { hyperclip: 'mnv2-hyperclip-lit-warm', siglip: 'mnv2-siglip-lit-warm' }, seenInTraining: [],
    pretrainedTower: 'mobilenet_v2_1.0_224_quant.tflite',
    note: 'Everything as in E3, plus a warm start before step 0 (`distill.warmStart`, docs/pretrained.md): with the locked encoder\'s ' +
      'pooled features of 4000 Tiny ImageNet training images cached once, 600 steps (batch 256, lr 1e-3) train the text side alone to ' +
      'reproduce the ImageNet head\'s predictions from classifiers generated from ImageNet\'s names (held-out synsets never drawn). ' +
      'The hypernetwork\'s head starts at zero, so at the warm start\'s end both models have the same image side. ' +
      'The HyperCLIP seed-0 run was first trained as a probe with `hyperclip train --preset mnv2-hyperclip-lit-warm --seed 0` and moved here; ' +
      'its recorded config is the recipe\'s own.',
  },
  W4: {
    id: 'W4', title: 'W3 with a longer warm start and WordNet node tasks',
    recipes: { hyperclip: 'mnv2-hyperclip-lit-nodes', siglip: 'mnv2-siglip-lit-nodes' }, seenInTraining: [],
    pretrainedTower: 'mobilenet_v2_1.0_224_quant.tflite',
    note: 'Everything as in W3, with a warm start of 1200 steps of 512 on 8000 cached images (W3: 600 of 256 on 4000), and 30% of the ' +
      'distillation tasks (warm start and main loop) drawn over WordNet nodes above ImageNet\'s classes ("dog", "vehicle"; 2 to 250 ' +
      'allowed classes under each; no held-out word names one) mixed with classes, entries never sharing a class, each scored by the ' +
      'teacher\'s probability mass under it (`distill.nodeTasks`, src/train/distill-nodes.ts). WordNet node names count as training ' +
      'labels beside ImageNet\'s: the overlap section lists the evaluated names among ImageNet\'s classes only.',
  },
};

export interface Metric {
  key: string;
  dataset: DatasetKey;
  label: string;
  /** Headline metrics go into the summary table and the bar plot. */
  headline: boolean;
  /** The expected score of a random guess (full test sets), to read the numbers against. */
  chance: number;
}

export const METRICS: Metric[] = [
  { key: 'cifar10Top1', dataset: 'cifar10', label: 'CIFAR-10 top-1', headline: true, chance: 0.1 },
  { key: 'cifar10Top5', dataset: 'cifar10', label: 'CIFAR-10 top-5', headline: false, chance: 0.5 },
  { key: 'cifar100Top1', dataset: 'cifar100', label: 'CIFAR-100 top-1', headline: true, chance: 0.01 },
  { key: 'cifar100Top5', dataset: 'cifar100', label: 'CIFAR-100 top-5', headline: false, chance: 0.05 },
  { key: 'imageToTextR1', dataset: 'flickr8k', label: 'Flickr8k image→text R@1', headline: true, chance: 0.001 },
  { key: 'imageToTextR5', dataset: 'flickr8k', label: 'Flickr8k image→text R@5', headline: false, chance: 0.005 },
  { key: 'imageToTextR10', dataset: 'flickr8k', label: 'Flickr8k image→text R@10', headline: false, chance: 0.01 },
  { key: 'textToImageR1', dataset: 'flickr8k', label: 'Flickr8k text→image R@1', headline: true, chance: 0.001 },
  { key: 'textToImageR5', dataset: 'flickr8k', label: 'Flickr8k text→image R@5', headline: false, chance: 0.005 },
  { key: 'textToImageR10', dataset: 'flickr8k', label: 'Flickr8k text→image R@10', headline: false, chance: 0.01 },
];

/** What `npm run experiment` runs when not told otherwise. */
export const DEFAULT_CONFIGS = Object.keys(CONFIGURATIONS).join(',');
export const DEFAULT_SEEDS = '0,1,2';

/** Where the real experiment keeps its runs; only it writes docs/results.md. */
export const DEFAULT_OUT = 'runs/experiment';

export const runName = (recipe: string, seed: number): string => `${recipe}-s${seed}`;

export function parseConfigurations(list: string): Configuration[] {
  const ids = list.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
  if (ids.length === 0) throw new Error(`--configs is empty: give one or more of ${Object.keys(CONFIGURATIONS).join(', ')} (e.g. A,D)`);
  return ids.map((id) => {
    const c = CONFIGURATIONS[id];
    if (c === undefined) throw new Error(`unknown configuration "${id}": known are ${Object.keys(CONFIGURATIONS).join(', ')}`);
    return c;
  });
}

/** Which side(s) of each pair to train and evaluate: "hyperclip", "siglip", or both (the default). */
export function parseModels(list: string): ModelKind[] {
  const models = [...new Set(list.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  const unknown = models.filter((m) => !(MODEL_KINDS as string[]).includes(m));
  if (models.length === 0 || unknown.length > 0) throw new Error(`--models expects hyperclip and/or siglip separated by commas but received "${list}"`);
  return MODEL_KINDS.filter((m) => models.includes(m));
}

export function parseSeeds(list: string): number[] {
  const seeds = list.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new Error(`--seeds expects non-negative integers separated by commas (e.g. 0,1,2) but received "${list}"`);
  }
  return [...new Set(seeds)];
}

/**
 * What the report covers: the configurations and seeds asked for, plus every other configuration
 * and seed with a run folder in the experiment folder (`runDirs`: its entries' names). Training one
 * configuration must not drop the others' tables from the report.
 */
export function reportScope(asked: Configuration[], seeds: number[], runDirs: string[]): { configurations: Configuration[]; seeds: number[] } {
  const seedsOfRecipe = new Map<string, number[]>();
  for (const dir of runDirs) {
    const match = /^(.+)-s(\d+)$/.exec(dir);
    if (match === null) continue;
    seedsOfRecipe.set(match[1], [...(seedsOfRecipe.get(match[1]) ?? []), Number(match[2])]);
  }
  const askedIds = new Set(asked.map((c) => c.id));
  const configurations = Object.values(CONFIGURATIONS)
    .filter((c) => askedIds.has(c.id) || MODEL_KINDS.some((m) => seedsOfRecipe.has(c.recipes[m])));
  const found = configurations.flatMap((c) => MODEL_KINDS.flatMap((m) => seedsOfRecipe.get(c.recipes[m]) ?? []));
  return { configurations, seeds: [...new Set([...seeds, ...found])].sort((a, b) => a - b) };
}
