// Which evaluated class names the training data already names (issue 21's
// overlap report, asked for by the paper's reviewers): for each class of
// CIFAR-10 and CIFAR-100, how many Tiny ImageNet training images carry a
// label whose WordNet synonyms include the name (or one of the name's own
// WordNet synonyms), how many get it through a hypernym phrase in their
// captions ("tabby, a kind of cat"), and how many Flickr8k training images
// have a caption naming it; also which are (synonyms of) ImageNet-1k classes
// and how many ImageNet classes are their WordNet hyponyms (the pretrained
// encoders saw those labels), and whether the held-out Tiny ImageNet names
// leak through other ImageNet classes' names or Flickr8k captions. Writes
// docs/overlap.md, which docs/results.md embeds next to the scores.
//   node dist/experiments/overlap.js [--out docs/overlap.md]
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HELD_OUT_RULE, heldOutClasses } from '../src/data/held-out.js';
import { imagenetClasses } from '../src/data/imagenet-classes.js';
import { dataRoot, labelPhrases, lemmaKey, resolveDataset, WordNet } from '../src/data/index.js';
import { ImagenetHierarchy } from '../src/eval/wordnet-lookup.js';
import { imagenetDistillNodes } from '../src/train/distill-setup.js';
import { captionsPerImage, namer, words } from './lib/name-match.js';

/** Tiny ImageNet train images per class (the shared data's README: 350). */
const TIN_IMAGES_PER_CLASS = 350;
const HYPERNYM_LEVELS = 2;

interface Row { name: string; alsoAs: string[]; labelClasses: string[]; hypernymClasses: string[]; flickrImages: number; imagenetClasses: string[]; imagenetHyponyms: number; nodes: string[] }

function evaluatedNames(wordnet: WordNet, name: string): string[] {
  const [first] = wordnet.nounSynsets(name);
  const synonyms = first ? first.words.filter((w) => /^[a-z ]+$/.test(w)) : [];
  return [...new Set([name, ...synonyms.map((w) => w.toLowerCase())])];
}

async function main(opts: { out: string }): Promise<void> {
  const wordnet = WordNet.load();
  const tinFolder = join(dataRoot(), 'tiny-imagenet');
  const tinSynonyms = JSON.parse(readFileSync(join(tinFolder, 'synonyms.json'), 'utf8')) as string[][];
  const phrases = labelPhrases(tinSynonyms, wordnet, { hypernymLevels: HYPERNYM_LEVELS });
  const hypernymWords = phrases.map((list) => list.filter((p) => p.includes(', a kind of ')).map((p) => words(p.split(', a kind of ')[1]!)));
  process.stderr.write('overlap: reading Flickr8k train captions ...\n');
  const flickr = [...(await captionsPerImage(resolveDataset('flickr8k', 'train').shards)).values()].map((caps) => caps.map(words));
  const imagenet = imagenetClasses();
  const hierarchy = new ImagenetHierarchy(wordnet, imagenet);
  // Exact synonym match (case-insensitive): the name, or one of its WordNet synonyms, IS one of an ImageNet class's names.
  // The WordNet nodes that recipes with distill.nodeTasks name in their tasks (src/train/distill-nodes.ts).
  const nodes = imagenetDistillNodes(wordnet, imagenet, heldOutClasses().wnids);
  const nodeNaming = (names: string[]) => nodes.names.flatMap((syns, i) =>
    (syns.some((s) => names.some((n) => lemmaKey(n) === lemmaKey(s))) ? [`${syns[0]} (${nodes.members[i]!.length})`] : []));
  const imagenetNaming = (names: string[]) => imagenet.synonyms.flatMap((syns, k) =>
    (syns.some((s) => names.some((n) => lemmaKey(n) === lemmaKey(s))) ? [syns[0]!] : []).map((first) => `${first} (${k})`));

  const sections: string[] = [];
  let summary = '';
  for (const dataset of ['cifar10', 'cifar100'] as const) {
    const classnames = resolveDataset(dataset, 'test').classnames!;
    const rows: Row[] = classnames.map((name) => {
      const names = evaluatedNames(wordnet, name);
      const matchers = names.map(namer);
      const named = (text: string[]) => matchers.some((m) => m(text));
      const labelClasses = tinSynonyms.flatMap((syns, k) => (syns.some((s) => named(words(s))) ? [tinSynonyms[k]![0]!] : []));
      const hypernymClasses = hypernymWords.flatMap((list, k) => (!labelClasses.includes(tinSynonyms[k]![0]!) && list.some(named) ? [tinSynonyms[k]![0]!] : []));
      const flickrImages = flickr.filter((caps) => caps.some(named)).length;
      const imagenetHyponyms = hierarchy.mapName(name).imagenet.length;
      return { name, alsoAs: names.slice(1), labelClasses, hypernymClasses, flickrImages, imagenetClasses: imagenetNaming(names), imagenetHyponyms, nodes: nodeNaming(names) };
    });
    const inImagenet = rows.filter((r) => r.imagenetClasses.length > 0).length;
    const underImagenet = rows.filter((r) => r.imagenetClasses.length === 0 && r.imagenetHyponyms > 0).length;
    const inLabels = rows.filter((r) => r.labelClasses.length > 0).length;
    const inHypernyms = rows.filter((r) => r.labelClasses.length === 0 && r.hypernymClasses.length > 0).length;
    const nowhere = rows.filter((r) => r.labelClasses.length + r.hypernymClasses.length === 0 && r.flickrImages === 0).length;
    const line = `${dataset}: ${inLabels} of ${rows.length} class names are (synonyms of) Tiny ImageNet training labels, ` +
      `${inHypernyms} more reach its captions only as a hypernym, ${nowhere} appear in no training label or caption`;
    const imagenetLine = `${dataset}: ${inImagenet} of ${rows.length} class names are (synonyms of) ImageNet-1k classes; ${underImagenet} more have ImageNet hyponyms`;
    const nodeLine = `${dataset}: ${rows.filter((r) => r.nodes.length > 0).length} of ${rows.length} class names name a WordNet node of the node-task distillation`;
    summary += `${line}\n${imagenetLine}\n${nodeLine}\n`;
    sections.push(`### ${dataset === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} (${line.split(': ')[1]})`, '', `ImageNet-1k: ${imagenetLine.split(': ')[1]}.`, '',
      `WordNet nodes (recipes with \`distill.nodeTasks\`): ${nodeLine.split(': ')[1]}.`, '',
      '| class | its WordNet synonyms also searched | Tiny ImageNet labels naming it (train images) | Tiny ImageNet classes whose captions name it as a hypernym (train images) | Flickr8k train images whose captions name it (of 6000) | ImageNet-1k classes it names (index) | ImageNet-1k classes at or under it in WordNet | distillation WordNet nodes it names (allowed classes under each) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.name} | ${r.alsoAs.join(', ') || '—'} | ${list(r.labelClasses)} | ${list(r.hypernymClasses)} | ${r.flickrImages} | ${r.imagenetClasses.join(', ') || '—'} | ${r.imagenetHyponyms} | ${r.nodes.join(', ') || '—'} |`), '');
  }
  const heldOut = heldOutSection(tinSynonyms, imagenet, flickr);
  summary += `${heldOut.line}\n`;
  sections.push(...heldOut.lines);
  const doc = [
    '## Overlap of evaluated class names with the training data',
    '',
    '**ImageNet-1k.** A model whose image encoder started from a pretrained MobileNet (`../shared/data/pretrained`) has seen',
    'ImageNet-1k\'s 1.28M labelled images: ImageNet\'s 1000 classes count as training labels for it, and its zero-shot numbers are not',
    'zero-shot in the paper\'s sense for any class at or under one of them. The last two columns say which: the ImageNet-1k classes',
    'the name (or one of its WordNet synonyms) exactly is a synonym of, and how many ImageNet classes are the name\'s WordNet',
    'hyponyms (all its noun senses, instance hypernyms followed: the mapping of `npm run experiment:wordnet-lookup`). The first is',
    'lexical and overcounts like the Tiny ImageNet column (airplane\'s synonym "plane" names the carpenter\'s plane, "mouse" the',
    'computer mouse); the second is by meaning, and 0 there means no ImageNet-1k class is a kind of it (e.g. deer).',
    '',
    '**WordNet nodes.** Recipes with `distill.nodeTasks` (configuration W4) also name WordNet synsets above ImageNet\'s classes in',
    'their distillation tasks ("dog", "vehicle"; src/train/distill-nodes.ts), so those names are training labels there. The last',
    'column lists the nodes whose names include the evaluated name or one of its WordNet synonyms, with the number of allowed',
    'ImageNet classes under each.',
    '',
    'Generated by `node dist/experiments/overlap.js` from the shared data. No image of CIFAR-10 or CIFAR-100 is trained on by',
    'configurations A, C and D (B trains on CIFAR-100 train); but a class NAME can still be seen in training. "Labels": a Tiny ImageNet',
    'class whose WordNet synonyms contain the evaluated name or one of its WordNet synonyms (whole words, singular or plural), so its',
    `${TIN_IMAGES_PER_CLASS} training images carry captions with that name (configuration D). "Hypernym": a Tiny ImageNet class whose captions`,
    `name it through a hypernym phrase (${HYPERNYM_LEVELS} WordNet levels, e.g. "tabby, a kind of cat"), counted only where no label names it.`,
    'Flickr8k: training images with at least one of their five captions naming it (all configurations). Matching whole words overcounts',
    'rather than hides overlap (e.g. "machine", a WordNet synonym of automobile, matches "sewing machine").',
    '',
    ...sections,
  ].join('\n');
  writeFileSync(opts.out, doc + '\n');
  process.stderr.write(`overlap: wrote ${opts.out}\n`);
  process.stdout.write(summary);
}

/**
 * The held-out Tiny ImageNet names (never trained on as text): does another
 * ImageNet-1k class's name carry the name (whole words, singular or plural),
 * so that distilling from the ImageNet head or captions built from its names
 * would teach it anyway, and how many Flickr8k train images' captions name it.
 */
function heldOutSection(tinSynonyms: string[][], imagenet: ReturnType<typeof imagenetClasses>, flickr: string[][][]): { line: string; lines: string[] } {
  const { indices, wnids } = heldOutClasses();
  const held = new Set(wnids);
  const rows = indices.map((i, n) => {
    const name = tinSynonyms[i]![0]!;
    const named = namer(name);
    const exact = (syns: string[]) => syns.some((s) => lemmaKey(s) === lemmaKey(name));
    const others = imagenet.synonyms.flatMap((syns, k) => (held.has(imagenet.wnids[k]!) || !syns.some((s) => named(words(s))) ? []
      : [`${exact(syns) ? `**${syns.join(', ')}**` : syns.join(', ')} (${k})`]));
    return { name, wnid: wnids[n]!, others, flickrImages: flickr.filter((caps) => caps.some(named)).length };
  });
  const leaking = rows.filter((r) => r.others.length > 0).length;
  const captioned = rows.filter((r) => r.flickrImages > 0).length;
  const inImagenet = wnids.filter((w) => imagenet.wnids.includes(w)).length;
  const line = `held-out: ${leaking} of ${rows.length} held-out names occur in the names of other (non-held-out) ImageNet-1k classes; ${captioned} occur in Flickr8k train captions`;
  return {
    line,
    lines: ['### Held-out Tiny ImageNet names', '',
      `The ${rows.length} held-out names (${HELD_OUT_RULE}): text-side training never draws their names or synsets. A name can still reach`,
      'training through another class\'s name: the ImageNet-1k classes (outside the held-out ones) whose synonyms contain it as whole',
      'words (bold: one of their synonyms is exactly the name), and Flickr8k train images with a caption naming it.',
      `${inImagenet} of the ${rows.length} are ImageNet-1k classes themselves: only their names are held out, and an image encoder`,
      'started from a pretrained MobileNet saw their labelled ImageNet images.', '',
      `${line.split(': ')[1]}.`, '',
      '| held-out class | WNID | other ImageNet-1k classes whose names contain it (index) | Flickr8k train images whose captions name it (of 6000) |',
      '| --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.name} | ${r.wnid} | ${r.others.join('; ') || '—'} | ${r.flickrImages} |`), ''],
  };
}

function list(classes: string[]): string {
  return classes.length === 0 ? '—' : `${classes.join(', ')} (${classes.length * TIN_IMAGES_PER_CLASS})`;
}

export const cli = (): Command => new Command()
  .name('overlap')
  .description('which CIFAR-10 / CIFAR-100 class names occur in the training labels (Tiny ImageNet, ImageNet-1k, with WordNet) and captions (Flickr8k); held-out name leaks')
  .option('--out <file>', 'where to write the markdown section', 'docs/overlap.md');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('overlap', main)).parseAsync();
