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

/**
 * Opens ONNX bytes in onnxruntime-node (CPU, all graph optimisations).
 * session.x64quantprecision: on x86 CPUs without VNNI, onnxruntime's fast
 * uint8 x int8 kernels sum pairs of products in saturating 16-bit registers
 * (255 x 127 x 2 overflows), so a full-range int8 classifier would compute
 * something else than its QDQ graph says (measured on the shipped model's
 * CIFAR-10 classifier: top-1 agreement with the float one fell from 142 to
 * 102 of 200 test images). The entry makes onnxruntime store such weights as
 * uint8 and use its exact uint8 x uint8 kernels there; it changes nothing for
 * float graphs or other CPUs.
 */
const SESSION_OPTIONS = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', extra: { session: { x64quantprecision: '1' } } };
export const openRunner: OpenRunner = runnerFactory(nodeOrt, SESSION_OPTIONS);

/**
 * Opens sessions as openRunner does, with onnxruntime's profiler on: each
 * session writes a Chrome-trace JSON file named `<prefix>_<time>.json` when
 * it is released (the profile of everything run in it, warm-up included).
 */
export const profiledRunner = (prefix: string): OpenRunner => runnerFactory(nodeOrt, { ...SESSION_OPTIONS, enableProfiling: true, profileFilePrefix: prefix });

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
