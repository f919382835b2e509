// Zero-shot classification: class names through prompt templates, one
// embedding per class (averaged over templates), and for HyperCLIP the image
// encoder conditioned on the evaluated class set, exactly as a deployed
// classifier would be.
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { LoaderSource } from '../data/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { ZeroShotClassifier } from '../models/index.js';
import { tokenize } from './text-features.js';
import { evaluateClassification, inChunks, sampling, type ClassificationOptions, type ClassificationResult } from './classification.js';

export type ZeroShotOptions = ClassificationOptions;
export type ZeroShotResult = ClassificationResult;
export type { ClassScore, Confusion } from './classification.js';
export { sampling };

/** The class embeddings [K, E] and generated norm parameters for a class set. */
export function buildClassifier(bundle: Bundle, classnames: string[], templates: string[]): ZeroShotClassifier {
  if (classnames.length === 0) throw new Error('the class list is empty: give at least one class name');
  const prompts = classnames.flatMap((name) => templates.map((t) => t.replaceAll('{}', name)));
  return noGrad(() => tidy(() => {
    const ids = tokenize(bundle.tokenizer, prompts).reshape([classnames.length, templates.length, bundle.tokenizer.contextLength]);
    return bundle.model.zeroShotClassifier(ids); // [K, E] + norm params [1, C]
  }));
}

export function disposeClassifier(c: ZeroShotClassifier): void {
  c.classEmbeddings.dispose();
  for (const { scale, shift } of c.normParams?.values() ?? []) {
    scale.dispose();
    shift.dispose();
  }
}

/** Logits [N, K] of a float32 NCHW batch. */
export function classifyPixels(bundle: Bundle, classifier: ZeroShotClassifier, pixels: Float32Array, shape: number[]): Tensor {
  return noGrad(() => tidy(() => bundle.model.classify(tensor(pixels, shape), classifier)));
}

export async function evaluateZeroShot(bundle: Bundle, source: LoaderSource, classnames: string[], templates: string[],
  options: ZeroShotOptions = {}): Promise<ZeroShotResult> {
  const classifier = buildClassifier(bundle, classnames, templates);
  try {
    const rank = inChunks((images, k) => bundle.model.classify(images, classifier).topk(k, 1)[1]); // [m, k]
    return await evaluateClassification(rank, source, classnames, bundle.preprocess, options);
  } finally {
    disposeClassifier(classifier);
  }
}
