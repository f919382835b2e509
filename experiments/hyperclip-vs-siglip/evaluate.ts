// One finished run's evaluation: zero-shot CIFAR-10 and CIFAR-100 test with
// the CLIP templates, Tiny ImageNet val with CLIP's ImageNet templates, and
// Flickr8k test retrieval, exactly as `hyperclip eval` does them. Written to
// the run's eval.json.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadBundle, type Bundle } from '../../src/bundle/bundle.js';
import { resolveDataset, type CaptionSource } from '../../src/data/index.js';
import { writeJsonAtomic } from '../../src/engine/atomic-write.js';
import { releaseMemory } from '../../src/engine/index.js';
import { percent } from '../../src/eval/format.js';
import { evaluateRetrieval } from '../../src/eval/retrieval.js';
import { evaluateZeroShot } from '../../src/eval/zeroshot.js';
import { EVAL_FILE, isEvalRecord, type EvalRecord, type ZeroShotScores } from './runs.js';

const PROGRESS_EVERY = 2500;

/** A progress callback that logs once every PROGRESS_EVERY samples (the full sets take minutes). */
function every(label: string, log: (text: string) => void): (done: number) => void {
  let next = PROGRESS_EVERY;
  return (done) => {
    if (done < next) return;
    log(`  ${label}: ${done} images`);
    next = (Math.floor(done / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
  };
}

async function zeroShot(bundle: Bundle, dataset: 'cifar10' | 'cifar100' | 'tiny-imagenet', limit: number | undefined, log: (text: string) => void): Promise<ZeroShotScores> {
  const source = resolveDataset(dataset, dataset === 'tiny-imagenet' ? 'val' : 'test');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  const templates = caption.templates;
  const r = await evaluateZeroShot(bundle, { shards: source.shards, caption }, caption.classnames, templates, { limit, onProgress: every(dataset, log) });
  return { samples: r.samples, top1: r.top1, top5: r.top5, templates: templates.length, skipped: r.skipped };
}

/** The eval.json of a run if it was made with the same sample limit. */
export function existingEval(runDir: string, limit: number | null): EvalRecord | null {
  const file = path.join(runDir, EVAL_FILE);
  if (!existsSync(file)) return null;
  try {
    const record: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isEvalRecord(record) && record.evalLimit === limit ? record : null;
  } catch {
    return null;
  }
}

export async function evaluateRun(runDir: string, recipe: string, seed: number, limit: number | null,
  log: (text: string) => void): Promise<EvalRecord> {
  const started = Date.now();
  const bundle = loadBundle(path.join(runDir, 'model'));
  try {
    const cap = limit ?? undefined;
    const cifar10 = await zeroShot(bundle, 'cifar10', cap, log);
    log(`  cifar10 zero-shot top-1 ${percent(cifar10.top1, { unit: true })} (${cifar10.samples} images)`);
    const cifar100 = await zeroShot(bundle, 'cifar100', cap, log);
    log(`  cifar100 top-1 ${percent(cifar100.top1, { unit: true })} (${cifar100.samples} images)`);
    // Seen classes for the recipes that train on Tiny ImageNet: how well the model learned what it saw.
    const tinyImagenet = await zeroShot(bundle, 'tiny-imagenet', cap, log);
    log(`  tiny-imagenet val top-1 ${percent(tinyImagenet.top1, { unit: true })} (${tinyImagenet.samples} images)`);
    const flickr = resolveDataset('flickr8k', 'test');
    const r = await evaluateRetrieval(bundle, { shards: flickr.shards, caption: flickr.caption }, { limit: cap });
    log(`  flickr8k test retrieval image->text R@1 ${percent(r.imageToText.r1, { unit: true })}, text->image R@1 ${percent(r.textToImage.r1, { unit: true })} (${r.images} images)`);
    const record: EvalRecord = {
      recipe, seed, evalLimit: limit, evaluatedAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000,
      cifar10, cifar100, tinyImagenet, flickr8k: { images: r.images, captions: r.captions, imageToText: r.imageToText, textToImage: r.textToImage, skipped: r.skipped },
    };
    writeJsonAtomic(path.join(runDir, EVAL_FILE), record);
    return record;
  } finally {
    bundle.model.dispose();
    // The next run trains in this same process: hand the evaluation's peak back first.
    releaseMemory();
  }
}
