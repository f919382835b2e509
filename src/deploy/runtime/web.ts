// The browser face of the runtime: the page passes its onnxruntime-web module
// (import * as ort from 'onnxruntime-web'), so this file needs no Node APIs
// and imports no runtime package itself.
import { classify, createClassifier, type Classifier } from './classifier.js';
import { runnerFactory, type OrtLike } from './ort-adapter.js';

export { classify };
export type { Classifier, ClassifyOptions, Prediction, LabelScore } from './classifier.js';

/** Loads a classifier from a URL or its bytes, run by the given onnxruntime-web module. */
export async function loadClassifierWeb(urlOrBytes: string | Uint8Array, ort: OrtLike,
  sessionOptions: Record<string, unknown> = { executionProviders: ['wasm'] }): Promise<Classifier> {
  return createClassifier(await classifierBytes(urlOrBytes), runnerFactory(ort, sessionOptions));
}

/** A classifier's bytes: fetched when given a URL, as they are otherwise. */
export async function classifierBytes(urlOrBytes: string | Uint8Array): Promise<Uint8Array> {
  if (typeof urlOrBytes !== 'string') return urlOrBytes;
  const response = await fetch(urlOrBytes);
  if (!response.ok) throw new Error(`cannot fetch classifier ${urlOrBytes}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
