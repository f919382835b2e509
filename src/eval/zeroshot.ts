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

export interface ZeroShotOptions extends ClassificationOptions {
  /** Per class, the phrases its prompts name (buildClassifier); default: its class name alone. */
  phrases?: PhraseLists | null;
}
export type ZeroShotResult = ClassificationResult;
export type { ClassScore, Confusion } from './classification.js';
export { sampling };

/** Per class, the texts that fill a template's {} (its name, or its name and WordNet phrases: name-phrases.ts). */
export type PhraseLists = readonly (readonly string[])[];

/**
 * The class embeddings [K, E] and generated norm parameters for a class set:
 * each class the mean over its prompts (every template with its name, or
 * with each of its `phrases` when given: classes may have different
 * numbers), and the hypernetwork conditioned on those K class embeddings.
 */
export function buildClassifier(bundle: Bundle, classnames: string[], templates: string[], phrases?: PhraseLists | null): ZeroShotClassifier {
  if (classnames.length === 0) throw new Error('the class list is empty: give at least one class name');
  if (phrases !== undefined && phrases !== null) return buildPhraseClassifier(bundle, classnames, templates, phrases);
  const prompts = classnames.flatMap((name) => templates.map((t) => t.replaceAll('{}', name)));
  return noGrad(() => tidy(() => {
    const ids = tokenize(bundle.tokenizer, prompts).reshape([classnames.length, templates.length, bundle.tokenizer.contextLength]);
    return bundle.model.zeroShotClassifier(ids); // [K, E] + norm params [1, C]
  }));
}

function buildPhraseClassifier(bundle: Bundle, classnames: string[], templates: string[], phrases: PhraseLists): ZeroShotClassifier {
  if (phrases.length !== classnames.length) throw new Error(`${phrases.length} phrase lists were given for ${classnames.length} classes`);
  const empty = phrases.findIndex((list) => list.length === 0);
  if (empty >= 0) throw new Error(`class ${empty} (${classnames[empty]}) has no phrases: give at least its name`);
  const prompts = phrases.flatMap((list) => list.flatMap((phrase) => templates.map((t) => t.replaceAll('{}', phrase))));
  return noGrad(() => tidy(() => bundle.model.zeroShotClassifierOfPrompts(
    tokenize(bundle.tokenizer, prompts), // [sum of prompts, L]
    phrases.map((list) => list.length * templates.length),
  )));
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
  const classifier = buildClassifier(bundle, classnames, templates, options.phrases);
  try {
    const rank = inChunks((images, k) => bundle.model.classify(images, classifier).topk(k, 1)[1]); // [m, k]
    return await evaluateClassification(rank, source, classnames, bundle.preprocess, options);
  } finally {
    disposeClassifier(classifier);
  }
}
