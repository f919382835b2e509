// Periodic validation during training: CIFAR-10 zero-shot on a sample of the
// test set and Flickr8k val retrieval, both small enough to run in seconds.
import { releaseMemory } from '../engine/index.js';
import { resolveDataset } from '../data/index.js';
import type { Bundle } from '../bundle/bundle.js';
import { evaluateRetrieval, type RetrievalResult } from '../eval/retrieval.js';
import { evaluateZeroShot, type ZeroShotResult } from '../eval/zeroshot.js';
import type { TrainConfig } from './recipes.js';
import type { TrainReporter } from './trainer.js';

export interface ValidationResult {
  cifar10: ZeroShotResult | null;
  retrieval: RetrievalResult | null;
}

export async function validate(bundle: Bundle, config: TrainConfig, reporter: TrainReporter): Promise<ValidationResult> {
  bundle.model.eval();
  const { cifar10Limit, retrievalLimit } = config.validation;
  let cifar10: ZeroShotResult | null = null;
  let retrieval: RetrievalResult | null = null;
  if (cifar10Limit > 0) {
    const c10 = resolveDataset('cifar10', 'test');
    const caption = c10.caption as { kind: 'label'; classnames: string[]; templates: string[] };
    cifar10 = await evaluateZeroShot(bundle, { shards: c10.shards, caption }, caption.classnames, caption.templates, { limit: cifar10Limit });
    reporter.message(`validation: cifar10 zero-shot top-1 ${(100 * cifar10.top1).toFixed(2)}% on ${cifar10.samples} test images`);
  }
  if (retrievalLimit > 0) {
    const val = resolveDataset('flickr8k', 'val');
    retrieval = await evaluateRetrieval(bundle, { shards: val.shards, caption: val.caption }, { limit: retrievalLimit });
    reporter.message(`validation: flickr8k val retrieval image->text R@1 ${(100 * retrieval.imageToText.r1).toFixed(2)}%, ` +
      `text->image R@1 ${(100 * retrieval.textToImage.r1).toFixed(2)}% (${retrieval.images} images)`);
  }
  // The evaluation batches, the decode workers and their arenas peak at over
  // 1 GB, and the addon never trims the heap on its own: without handing
  // that back, each validation of a long run would leave resident memory higher.
  releaseMemory();
  return { cifar10, retrieval };
}
