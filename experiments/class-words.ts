// How well a caption corpus covers a labelled dataset's class names (issue 5's
// "why": data, tokenizer, word prior). For each class: how many training
// images have a caption that names it (whole words, singular or plural), how
// the tokenizer splits the name, and whether the word prior has a vector for
// each of its words. A zero-shot class that no caption names is learned from
// its word-prior vector alone.
//   node dist/experiments/class-words.js --classes cifar10 --captions flickr8k:train
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { Command } from 'commander';
import { resolveDataset, resolveDatasetSpec } from '../src/data/index.js';
import { loadWordPrior, Tokenizer } from '../src/data/tokenizer/index.js';
import { captionsPerImage, namer, words } from './lib/name-match.js';

interface ClassCoverage { name: string; images: number; captions: number; tokens: string[]; inPrior: boolean }

async function main(opts: { classes: string; captions: string; tokenizer: string }): Promise<void> {
  const classnames = resolveDataset(opts.classes, 'test').classnames;
  if (classnames === null) throw new Error(`${opts.classes} has no class names: use cifar10 or cifar100`);
  const source = resolveDatasetSpec(opts.captions);
  if (source.caption.kind !== 'text') throw new Error(`${opts.captions} is labelled, not captioned: use a captioned split such as flickr8k:train`);
  const tokenizer = Tokenizer.load(opts.tokenizer);
  const prior = loadWordPrior(tokenizer);
  process.stderr.write(`reading captions of ${opts.captions} ...\n`);
  const images = [...(await captionsPerImage(source.shards)).values()].map((caps) => caps.map(words));

  const coverage: ClassCoverage[] = classnames.map((name) => {
    const names = namer(name);
    const captions = images.reduce((n, caps) => n + caps.filter(names).length, 0);
    const imageCount = images.filter((caps) => caps.some(names)).length;
    const tokens = tokenizer.tokenize(name).map((id) => tokenizer.token(id));
    const inPrior = words(name).every((w) => tokenizer.tokenize(w).length === 1 && prior.found[tokenizer.tokenize(w)[0]!] === 1);
    return { name, images: imageCount, captions, tokens, inPrior };
  });

  console.log(`| class | images naming it (of ${images.length}) | captions naming it | tokens | every word in the word prior |`);
  console.log('|---|---|---|---|---|');
  for (const c of coverage) console.log(`| ${c.name} | ${c.images} | ${c.captions} | ${c.tokens.join(' ')} | ${c.inPrior ? 'yes' : 'no'} |`);
  const counts = coverage.map((c) => c.images).sort((a, b) => a - b);
  const median = counts[Math.floor(counts.length / 2)]!;
  const rare = coverage.filter((c) => c.images <= 10).length;
  console.log(`${opts.classes} in ${opts.captions} captions: median ${median} images per class; ${rare} of ${coverage.length} classes named in 10 images or fewer`);
}

export const cli = (): Command => new Command()
  .name('class-words')
  .description('how often a caption corpus names each class of a labelled dataset, and how the tokenizer and word prior see the names')
  .option('--classes <dataset>', 'the labelled dataset whose class names to look for: cifar10 or cifar100', 'cifar10')
  .option('--captions <split>', 'a captioned split, NAME:SPLIT', 'flickr8k:train')
  .option('--tokenizer <name>', 'tokenizer name or file', 'flickr8k-4k');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('class-words', main)).parseAsync();
