// onnxruntime-node behind the runtime-independent interface: the only file
// that imports it. Node callers use loadClassifier / classify from here.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { classify, createClassifier, type Classifier } from './classifier.js';
import { runnerFactory, type OrtLike } from './ort-adapter.js';
import type { OpenRunner } from './session.js';
import { checkSparseInitializers, decodeModel } from '../onnx/sparse-initializers.js';

export { classify };
export type { Classifier, ClassifyOptions, Prediction, LabelScore } from './classifier.js';

/** The onnxruntime-node module as the adapter sees it (the browser passes onnxruntime-web the same way). */
export const nodeOrt = ort as unknown as OrtLike;

/** Opens ONNX bytes in onnxruntime-node (CPU, all graph optimisations). */
export const openRunner: OpenRunner = runnerFactory(nodeOrt, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });

/** An .onnx file's bytes, with a one-line error when it cannot be read. */
export async function readClassifierFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `classifier file not found: ${file}` : `cannot read classifier ${file}: ${(err as Error).message}`);
  }
}

/** Loads a classifier from an .onnx path or its bytes. */
export async function loadClassifier(pathOrBytes: string | Uint8Array): Promise<Classifier> {
  const bytes = typeof pathOrBytes === 'string' ? await readClassifierFile(pathOrBytes) : pathOrBytes;
  // A pruned classifier's sparse payloads are checked before onnxruntime sees them.
  let model;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new Error(`not an ONNX model (${(err as Error).message}); give a .onnx file written by hyperclip or another ONNX exporter`);
  }
  checkSparseInitializers(model, typeof pathOrBytes === 'string' ? pathOrBytes : 'the classifier');
  return createClassifier(bytes, openRunner);
}
