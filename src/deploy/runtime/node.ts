// onnxruntime-node behind the runtime-independent interface: the only file
// that imports it. Node callers use loadClassifier / classify from here.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { classify, createClassifier, type Classifier } from './classifier.js';
import { runnerFactory, type OrtLike } from './ort-adapter.js';
import type { OpenRunner } from './session.js';
import { checkSparseInitializers, decodeModel } from '../../compress/mask-onnx.js';

export { classify };
export type { Classifier, ClassifyOptions, Prediction, LabelScore } from './classifier.js';

/** The onnxruntime-node module as the adapter sees it (the browser passes onnxruntime-web the same way). */
export const nodeOrt = ort as unknown as OrtLike;

/** Opens ONNX bytes in onnxruntime-node (CPU, all graph optimisations). */
export const openRunner: OpenRunner = runnerFactory(nodeOrt, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });

/** Loads a classifier from an .onnx path or its bytes. */
export async function loadClassifier(pathOrBytes: string | Uint8Array): Promise<Classifier> {
  let bytes: Uint8Array;
  if (typeof pathOrBytes === 'string') {
    try {
      bytes = await readFile(pathOrBytes);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `classifier file not found: ${pathOrBytes}` : `cannot read classifier ${pathOrBytes}: ${(err as Error).message}`);
    }
  } else {
    bytes = pathOrBytes;
  }
  // A pruned classifier's sparse payloads are checked before onnxruntime sees them.
  checkSparseInitializers(decodeModel(bytes), typeof pathOrBytes === 'string' ? pathOrBytes : 'the classifier');
  return createClassifier(bytes, openRunner);
}
