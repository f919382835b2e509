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
  let bytes: Uint8Array;
  if (typeof urlOrBytes === 'string') {
    const response = await fetch(urlOrBytes);
    if (!response.ok) throw new Error(`cannot fetch classifier ${urlOrBytes}: HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } else {
    bytes = urlOrBytes;
  }
  return createClassifier(bytes, runnerFactory(ort, sessionOptions));
}
