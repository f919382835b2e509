// How a trained model's embeddings sit (issue 5's "why"): on the first N
// images of a Flickr8k split, each with its first caption, the mean cosine of
// matched and unmatched image-caption pairs, the SigLIP logits these give
// with the learned temperature and bias, and how alike the CIFAR-10 class
// prompts are to each other. HyperCLIP is conditioned as in retrieval: on the
// set of the N captions.
//   node dist/experiments/embedding-geometry.js --model runs/experiment/tiny-siglip-s0/model --split train
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { percent } from '../src/eval/format.js';
import { Command, InvalidArgumentError } from 'commander';
import { defaultModelDir, loadBundle, type Bundle } from '../src/bundle/bundle.js';
import { createLoader, iterateSamples, resolveDataset } from '../src/data/index.js';
import { F, noGrad, tensor, tidy, type Tensor } from '../src/engine/index.js';
import { encodeTexts } from '../src/eval/text-features.js';

interface PairStats { matched: number; unmatched: number; unmatchedStd: number }

/** Diagonal mean, and mean and spread of the off-diagonal entries, of a square similarity matrix. */
function pairStats(similarity: Tensor): PairStats {
  const n = similarity.size(0);
  const values = similarity.toArray();
  let diagonal = 0, off = 0, offSquares = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = values[i * n + j]!;
      if (i === j) diagonal += v;
      else { off += v; offSquares += v * v; }
    }
  }
  const count = n * (n - 1);
  const mean = off / count;
  return { matched: diagonal / n, unmatched: mean, unmatchedStd: Math.sqrt(Math.max(offSquares / count - mean * mean, 0)) };
}

/** Share of off-diagonal logits whose sigmoid exceeds p: unmatched pairs the loss still treats as likely matches. */
function shareAbove(logits: Tensor, p: number): number {
  const n = logits.size(0);
  const values = logits.toArray();
  const threshold = Math.log(p / (1 - p));
  let above = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && values[i * n + j]! > threshold) above++;
  return above / (n * (n - 1));
}

async function firstImagesWithCaptions(bundle: Bundle, split: string, count: number): Promise<{ images: Tensor; captions: string[] }> {
  const source = resolveDataset('flickr8k', split);
  const firstCaption = new Map<string, string>();
  for await (const sample of iterateSamples(source.shards)) {
    const json = sample.members.get('json');
    const caption = json ? (JSON.parse(json.toString('utf8')).captions as string[])[0] : sample.members.get('txt')?.toString('utf8');
    if (caption) firstCaption.set(sample.key, caption.trim());
  }
  const loader = createLoader({ sources: [source], batchSize: count, preprocess: bundle.preprocess, shuffle: false, workers: 0 });
  const batch = await loader.next();
  await loader.close();
  if (batch === null) throw new Error(`flickr8k ${split} holds no readable images`);
  const captions = batch.keys.map((key) => {
    const caption = firstCaption.get(key);
    if (caption === undefined) throw new Error(`flickr8k ${split}: image ${key} has no caption`);
    return caption;
  });
  return { images: tensor(batch.images, [batch.size, 3, batch.height, batch.width]), captions };
}

const fmt = (s: PairStats): string => `matched ${s.matched.toFixed(3)}, unmatched ${s.unmatched.toFixed(3)} ± ${s.unmatchedStd.toFixed(3)}`;

async function main(opts: { model?: string; split: string; images: number }): Promise<void> {
  const modelDir = opts.model ?? defaultModelDir();
  const bundle = loadBundle(modelDir);
  const { images, captions } = await firstImagesWithCaptions(bundle, opts.split, opts.images);
  const classnames = resolveDataset('cifar10', 'test').caption;
  if (classnames.kind !== 'label') throw new Error('cifar10 has no class names');
  noGrad(() => tidy(() => {
    const texts = F.normalize(encodeTexts(bundle.model, bundle.tokenizer, captions), -1); // [N, E]
    const normParams = bundle.model.hypernet === null ? undefined : bundle.model.generateNormParams(texts.unsqueeze(0));
    const imageEmbeddings = F.normalize(bundle.model.encodeImage(images, normParams), -1); // [N, E]
    const imageText = imageEmbeddings.matmul(texts.transpose(0, 1)); // [N, N]
    const t = Math.exp(bundle.model.logitScale.item());
    const b = bundle.model.logitBias.item();
    const stats = pairStats(imageText);
    console.log(`flickr8k ${opts.split}, first ${captions.length} images with their first caption:`);
    console.log(`  image-text cosine: ${fmt(stats)}`);
    console.log(`  image-image cosine: ${fmt(pairStats(imageEmbeddings.matmul(imageEmbeddings.transpose(0, 1))))}`);
    console.log(`  text-text cosine: ${fmt(pairStats(texts.matmul(texts.transpose(0, 1))))}`);
    console.log(`  temperature ${t.toFixed(2)}, bias ${b.toFixed(2)}: mean matched logit ${(t * stats.matched + b).toFixed(2)}, ` +
      `mean unmatched logit ${(t * stats.unmatched + b).toFixed(2)}; unmatched pairs with sigmoid > 0.1: ${percent(shareAbove(imageText.mul(t).add(b), 0.1), { unit: true })}`);
    const prompts = F.normalize(encodeTexts(bundle.model, bundle.tokenizer, classnames.classnames.map((c) => `a photo of a ${c}.`)), -1);
    console.log(`  CIFAR-10 prompts "a photo of a {class}." text-text cosine: ${fmt(pairStats(prompts.matmul(prompts.transpose(0, 1))))}`);
  }));
  images.dispose();
  bundle.model.dispose();
  console.log(`embedding geometry of ${modelDir}: ${captions.length} flickr8k ${opts.split} pairs`);
}

export const cli = (): Command => new Command()
  .name('embedding-geometry')
  .description('cosines of matched and unmatched image-caption pairs of a trained model, and its SigLIP logits')
  .option('--model <dir>', 'a model folder (default: the shipped models/default)')
  .option('--split <split>', 'flickr8k split: train, val or test', 'train')
  .option('--images <n>', 'how many images (one batch)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError('expected an integer of at least 2.');
    return n;
  }, 256);

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('embedding-geometry', main)).parseAsync();
