// The three ways to classify an image with a generated model, each as one
// timed call on onnxruntime-node: the specialised classifier; the
// unspecialised path (generator for the class prompts, then the encoder with
// the norm parameters as inputs, then the similarity head); and the encoder
// alone with norm parameters computed beforehand.
import { CLASS_EMBEDDINGS, IMAGE_EMBEDDINGS } from '../../src/deploy/io-names.js';
import type { FeedTensor, InferenceRunner, ResultTensor } from '../../src/deploy/runtime/session.js';

// The benches time these paths with the timing the experiments use too.
export { timeInterleaved } from '../../tools/timing.js';
export { median } from '../../tools/stats.js';

export interface PathInputs {
  classifier: InferenceRunner;
  generator: InferenceRunner;
  encoder: InferenceRunner;
  /** Tokenised prompts, int64 [K, P, T]. */
  ids: FeedTensor;
  logitScale: number;
  logitBias: number;
}

export type ClassifyCall = (image: FeedTensor) => Promise<Float32Array>;

export interface InferencePaths {
  classifier: ClassifyCall;
  unspecialised: ClassifyCall;
  encoderOnly: ClassifyCall;
  release(): Promise<void>;
}

export async function prepareInferencePaths(inputs: PathInputs): Promise<InferencePaths> {
  const precomputed = await inputs.generator.run({ ids: inputs.ids });
  const runEncoder = async (image: FeedTensor, generated: Record<string, ResultTensor>): Promise<Float32Array> => {
    const feeds: Record<string, FeedTensor> = { image };
    for (const [name, t] of Object.entries(generated)) if (name !== CLASS_EMBEDDINGS) feeds[name] = t;
    const out = await inputs.encoder.run(feeds);
    return softmaxLogits(out[IMAGE_EMBEDDINGS]!, generated[CLASS_EMBEDDINGS]!, inputs.logitScale, inputs.logitBias);
  };
  const classifierInput = inputs.classifier.inputNames[0]!;
  const classifierOutput = inputs.classifier.outputNames[0]!;
  return {
    classifier: async (image) => (await inputs.classifier.run({ [classifierInput]: image }))[classifierOutput]!.data as Float32Array,
    unspecialised: async (image) => runEncoder(image, await inputs.generator.run({ ids: inputs.ids })),
    encoderOnly: async (image) => runEncoder(image, precomputed),
    release: async () => {
      await inputs.classifier.release();
      await inputs.generator.release();
      await inputs.encoder.release();
    },
  };
}

/** image_embeddings [N, E] x class_embeddings [K, E] -> softmax(scale * x y^T + bias) [N, K], as the classifier's head. */
function softmaxLogits(images: ResultTensor, classes: ResultTensor, scale: number, bias: number): Float32Array {
  const [n, dim] = images.dims as [number, number];
  const k = classes.dims[0]!;
  const x = images.data as Float32Array, y = classes.data as Float32Array;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += x[i * dim + d]! * y[j * dim + d]!;
      const logit = scale * dot + bias;
      out[i * k + j] = logit;
      max = Math.max(max, logit);
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += (out[i * k + j] = Math.exp(out[i * k + j]! - max));
    for (let j = 0; j < k; j++) out[i * k + j]! /= sum;
  }
  return out;
}
