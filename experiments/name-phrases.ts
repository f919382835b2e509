// The WordNet name phrases (src/eval/name-phrases.ts, what --name-phrases
// wordnet prompts) of a dataset's class names, for a person to read: per
// class its phrases and the first noun sense they come from (words and
// gloss), and the sense --name-phrases wordnet-imagenet takes instead (with
// its phrases where it differs, and the rule that chose it); where the
// dataset names its own synset (Tiny ImageNet's WordNet ids, the WordNet
// groups' synsets), whether those senses are it. Reads no image.
//   node dist/experiments/name-phrases.js [--datasets cifar10,cifar100,tiny-imagenet,held-out,groups] [--out-dir runs/name-phrases]
// Writes <out-dir>/<dataset>-phrases.txt; one summary line per dataset on stdout.
import { Command } from 'commander';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dataRoot, resolveDataset, type CaptionSource } from '../src/data/index.js';
import { heldOutClasses } from '../src/data/held-out.js';
import { WordNet, type Synset } from '../src/data/wordnet.js';
import { NAME_PHRASE_LEVELS, nameSenses, sensePhrases, wordnetNamePhrases, type SenseRule } from '../src/eval/name-phrases.js';
import { tinyImagenetGroups } from '../src/eval/tin-groups.js';
import { projectRoot } from '../src/project-root.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';

export const PHRASE_DATASETS = ['cifar10', 'cifar100', 'tiny-imagenet', 'held-out', 'groups'] as const;
type PhraseDataset = typeof PHRASE_DATASETS[number];

interface Options { datasets: string; outDir?: string }

/** Class names, and per class the synset the dataset means (null where it names none). */
function classesOf(dataset: PhraseDataset, wordnet: WordNet): { names: string[]; meant: (number | null)[] } {
  if (dataset === 'groups') {
    const groups = tinyImagenetGroups(wordnet);
    return { names: groups.names, meant: groups.synsets };
  }
  if (dataset === 'cifar10' || dataset === 'cifar100') {
    // The train split's class list: the same names as the test split's, and no test file is opened.
    const caption = resolveDataset(dataset, 'train').caption as Extract<CaptionSource, { kind: 'label' }>;
    return { names: caption.classnames, meant: caption.classnames.map(() => null) };
  }
  const caption = resolveDataset('tiny-imagenet', 'val').caption as Extract<CaptionSource, { kind: 'label' }>;
  const folder = path.join(dataRoot(), 'tiny-imagenet');
  const wnids = JSON.parse(readFileSync(path.join(folder, 'wnids.json'), 'utf8')) as string[];
  const synonyms = JSON.parse(readFileSync(path.join(folder, 'synonyms.json'), 'utf8')) as string[][];
  const synsets = wordnet.synsetsOfWnids(wnids, synonyms, 'tiny-imagenet class').map((s) => s.offset);
  const indices = dataset === 'held-out' ? heldOutClasses().indices : caption.classnames.map((_, k) => k);
  return { names: indices.map((k) => caption.classnames[k]!), meant: indices.map((k) => synsets[k]!) };
}

const describe = (s: Synset): string => `${s.words.join(', ')}: ${s.gloss.split(';')[0]}`;

/** The text file's lines and its one-line summary: per name the phrases and sense of --name-phrases wordnet, then wordnet-imagenet's where it picks another sense. */
export function phraseReport(dataset: string, names: readonly string[], meant: readonly (number | null)[], wordnet: WordNet): { lines: string[]; summary: string } {
  const phrases = wordnetNamePhrases(names, wordnet);
  const senses = nameSenses(names, 'wordnet-imagenet', wordnet);
  const imagenetPhrases = sensePhrases(names, senses, wordnet);
  let unknown = 0, other = 0, otherImagenet = 0, changed = 0;
  const rules: Record<SenseRule, number> = { imagenet: 0, first: 0, none: 0 };
  const lines = [
    `# ${dataset}: ${names.length} class names with their WordNet name phrases (--name-phrases wordnet: the name, then "<name>, a kind of <hypernym>"`,
    `# for ${NAME_PHRASE_LEVELS} hypernym levels of its FIRST WordNet noun sense). Under each: that sense (words: gloss); "!" where it is not the synset the dataset means.`,
    '# Then the sense --name-phrases wordnet-imagenet takes: the first that is an ImageNet-1k class or above one (imagenet rule), else the first (first rule);',
    '# "~" where that is another sense, with its phrases.',
    `# Written by node dist/experiments/name-phrases.js; reads no image.`,
    '',
  ];
  names.forEach((name, k) => {
    lines.push(`${name}`);
    for (const p of phrases[k]!.slice(1)) lines.push(`    ${p}`);
    const all = wordnet.nounSynsets(name);
    const first = all[0];
    const { synset, rule } = senses[k]!;
    rules[rule]++;
    if (first === undefined || synset === null) {
      unknown++;
      lines.push('    (not in WordNet: the name alone)');
      return;
    }
    lines.push(`    sense: ${describe(first)}`);
    const own = meant[k];
    if (own !== null && own !== undefined && own !== first.offset) {
      other++;
      lines.push(`  ! the dataset means: ${describe(wordnet.synset(own))}`);
    }
    if (own !== null && own !== undefined && own !== synset.offset) otherImagenet++;
    const which = `${rule} rule, sense ${all.findIndex((s) => s.offset === synset.offset) + 1} of ${all.length}`;
    if (synset.offset === first.offset) {
      lines.push(`    wordnet-imagenet: the same sense (${rule === 'first' ? 'first rule: no sense reaches ImageNet-1k' : which})`);
      return;
    }
    changed++;
    lines.push(`  ~ wordnet-imagenet (${which}):`);
    for (const p of imagenetPhrases[k]!.slice(1)) lines.push(`    ${p}`);
    lines.push(`    sense: ${describe(synset)}`);
    if (own !== null && own !== undefined && own !== synset.offset) lines.push('  ! not the synset the dataset means either');
  });
  const checked = meant.some((m) => m !== null) ? `; not the dataset's synset: first sense ${other}, wordnet-imagenet's ${otherImagenet}` : '';
  return {
    lines,
    summary: `${dataset}: ${names.length} names, ${names.length - unknown} with WordNet phrases, ${unknown} not in WordNet; ` +
      `wordnet-imagenet changes the sense of ${changed} (imagenet rule ${rules.imagenet}, first rule ${rules.first}, none ${rules.none})${checked}`,
  };
}

async function main(opts: Options): Promise<void> {
  const asked = opts.datasets.split(',').map((d) => d.trim()).filter((d) => d !== '');
  const bad = asked.find((d) => !(PHRASE_DATASETS as readonly string[]).includes(d));
  if (bad !== undefined || asked.length === 0) throw new Error(`--datasets takes ${PHRASE_DATASETS.join(', ')}; got "${bad ?? ''}"`);
  const wordnet = WordNet.load();
  const outDir = opts.outDir ?? path.join(projectRoot(), 'runs', 'name-phrases');
  mkdirSync(outDir, { recursive: true });
  for (const dataset of asked as PhraseDataset[]) {
    const { names, meant } = classesOf(dataset, wordnet);
    const { lines, summary } = phraseReport(dataset, names, meant, wordnet);
    writeFileSync(path.join(outDir, `${dataset}-phrases.txt`), lines.join('\n') + '\n');
    console.log(summary);
  }
}

export const cli = (): Command => new Command()
  .name('name-phrases')
  .description('the WordNet name phrases of a dataset\'s class names (--name-phrases wordnet and wordnet-imagenet), and the senses they come from, as text files')
  .option('--datasets <list>', `some of ${PHRASE_DATASETS.join(', ')}`, PHRASE_DATASETS.join(','))
  .option('--out-dir <dir>', 'where the <dataset>-phrases.txt files go (default runs/name-phrases)');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('name-phrases', main)).parseAsync();
