// Class names in, a classifier out, entirely in the browser: the model's
// generator and the classifier file built from it (hyperclip/web), then
// that file opened as a session and warmed up.
import { WebClassifier, webRunner, type CheckedClassNames, type WebModel, type WebRuntime } from 'hyperclip/web';

export interface PageClassifier {
  classifier: WebClassifier;
  /** The classifier ONNX file, as `hyperclip classify` reads it. */
  bytes: Uint8Array;
  /** Seconds: generator (session + run), building the classifier file, opening it (session + one warm-up image). */
  timings: { generate: number; build: number; open: number; total: number };
}

export async function generateInBrowser(model: WebModel, classNames: CheckedClassNames, runtime: WebRuntime): Promise<PageClassifier> {
  const generated = await model.generateFile(classNames, { output: 'softmax' });
  const opening = performance.now();
  const classifier = await WebClassifier.open(generated.bytes, webRunner(runtime));
  // The first run of a session allocates its buffers; doing it here keeps that out of the per-image latency.
  await classifier.classifyTensor(new Float32Array(3 * classifier.inputSize * classifier.inputSize), { topK: 1, normalized: true });
  const openSeconds = (performance.now() - opening) / 1000;
  const { generate, build } = generated.timings;
  return { classifier, bytes: generated.bytes, timings: { generate, build, open: openSeconds, total: generate + build + openSeconds } };
}
