// Class names in, a classifier out, entirely in the browser: prompts through
// the generator ONNX, the encoder specialised into a classifier file in
// memory, and that file opened as a session.
import { classify, createClassifier, type Classifier } from '../../src/deploy/runtime/classifier.js';
import { generateOnRuntime } from '../../src/deploy/runtime/generate.js';
import type { OpenRunner } from '../../src/deploy/runtime/session.js';
import type { WebModel } from './model-source.js';

export interface WebClassifier {
  classifier: Classifier;
  /** The classifier ONNX file, as `hyperclip classify` reads it. */
  bytes: Uint8Array;
  /** Seconds: generator (session + run), building the classifier file, opening it (session + one warm-up image). */
  timings: { generate: number; build: number; open: number; total: number };
}

export async function generateInBrowser(model: WebModel, classNames: string[], open: OpenRunner): Promise<WebClassifier> {
  const generated = await generateOnRuntime(model.generator, model.encoder, model.tokenizer, {
    classNames, templates: model.templates, output: 'softmax', mean: model.mean, std: model.std,
    sourceModel: `${model.name} (${model.url})`, modelCard: model.card,
  }, open);
  const opening = performance.now();
  const classifier = await createClassifier(generated.bytes, open);
  const [h, w] = classifier.metadata.inputSize;
  // The first run of a session allocates its buffers; doing it here keeps that out of the per-image latency.
  await classify(classifier, new Float32Array(3 * h * w), { topk: 1, normalized: true });
  const openSeconds = (performance.now() - opening) / 1000;
  const { generate, build } = generated.timings;
  return { classifier, bytes: generated.bytes, timings: { generate, build, open: openSeconds, total: generate + build + openSeconds } };
}
