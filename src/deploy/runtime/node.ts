// onnxruntime-node behind the runtime-independent interface: the only file
// that imports it. Node callers use loadClassifier / classify from here.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { classify, createClassifier, type Classifier } from './classifier.js';
import { feedType, type InferenceRunner, type ResultTensor } from './session.js';

export { classify };
export type { Classifier, ClassifyOptions, Prediction, LabelScore } from './classifier.js';

/** Opens ONNX bytes in onnxruntime-node (CPU). */
export async function openRunner(model: Uint8Array): Promise<InferenceRunner> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (err) {
    throw new Error(`onnxruntime could not load the model: ${(err as Error).message}`);
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(feedType(t), t.data, t.dims)]));
      const results = await session.run(ortFeeds);
      const out: Record<string, ResultTensor> = {};
      for (const [name, t] of Object.entries(results)) out[name] = { data: t.data as ResultTensor['data'], dims: [...t.dims] };
      return out;
    },
    release: () => session.release(),
  };
}

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
  return createClassifier(bytes, openRunner);
}
