// A fitted few-shot head as a standalone ONNX classifier of the same kind
// `hyperclip generate` writes (one image input, probabilities or logits out,
// the same metadata), so `hyperclip classify` and the web runtime run it
// unchanged: the image encoder specialised with the generated norm
// parameters (folded into its convolutions), then the matrix of the
// descriptions the head uses, then the sparse head with the
// standardisation folded into it.
import path from 'node:path';
import { F, tensor, zeros, type Tensor } from '../engine/index.js';
import { readCard, type Bundle } from '../bundle/bundle.js';
import { classifierMetadataProps, type ClassifierMetadata, type ClassifierOutput } from '../deploy/metadata.js';
import { exportOnnx } from '../deploy/onnx/writer.js';
import type { NormParams } from '../models/index.js';
import { selectedFeatures, type FeatureHead } from './head.js';

export interface FewShotExport {
  bytes: Uint8Array;
  metadata: ClassifierMetadata;
  /** The features the file keeps (those with a non-zero weight for some class). */
  kept: string[];
}

/** The head on raw features with the standardisation folded in, restricted to the used features. */
export function foldedHead(head: FeatureHead): { kept: number[]; weight: Float64Array; bias: Float64Array } {
  const K = head.classNames.length, Fn = head.names.length;
  const { mean, std } = head.standardizer;
  let kept = Array.from({ length: Fn }, (_, f) => f).filter((f) => head.classNames.some((_, k) => head.model.weight[k * Fn + f] !== 0));
  if (kept.length === 0) kept = [0]; // an all-zero head still needs a [E, 1] matrix to multiply by
  const weight = new Float64Array(K * kept.length);
  const bias = Float64Array.from(head.model.bias);
  for (let k = 0; k < K; k++) {
    kept.forEach((f, i) => {
      const w = head.model.weight[k * Fn + f]! / std[f]!;
      weight[k * kept.length + i] = w;
      bias[k]! -= w * mean[f]!;
    });
  }
  return { kept, weight, bias };
}

export function exportFewShotClassifier(bundle: Bundle, head: FeatureHead, normParams: NormParams | null,
  options: { output?: ClassifierOutput; templates: string[]; descriptionSource: string; shots: number }): FewShotExport {
  const output = options.output ?? 'softmax';
  const size = bundle.preprocess.size;
  const E = head.dim, K = head.classNames.length;
  const { kept, weight, bias } = foldedHead(head);
  const basisT = new Float32Array(E * kept.length); // [E, F']
  kept.forEach((f, i) => { for (let e = 0; e < E; e++) basisT[e * kept.length + i] = head.basis[f * E + e]!; });
  const weightT = new Float32Array(kept.length * K); // [F', K]
  for (let k = 0; k < K; k++) kept.forEach((_, i) => { weightT[i * K + k] = weight[k * kept.length + i]!; });
  const metadata: ClassifierMetadata = {
    classNames: head.classNames, inputSize: [size, size], mean: bundle.preprocess.mean, std: bundle.preprocess.std, output,
    sourceModel: `${bundle.config.name} (${path.basename(path.resolve(bundle.dir))})`, modelCard: readCard(bundle.dir) ?? '',
  };
  const fewshot = {
    method: head.method, penalty: head.model.penalty, lambda: head.model.lambda, shots: options.shots, descriptions: options.descriptionSource,
    selected: Object.fromEntries(selectedFeatures(head).map((s) => [s.className, s.positive.map((p) => p.text)])),
  };
  const description = tensor(basisT, [E, kept.length]);
  const headWeight = tensor(weightT, [kept.length, K]);
  const headBias = tensor(Float32Array.from(bias), [K]);
  try {
    const forward = (image: Tensor): Tensor => {
      const x = F.normalize(bundle.model.encodeImage(image, normParams ?? undefined), -1); // [N, E]
      const logits = x.matmul(description).matmul(headWeight).add(headBias); // [N, F'] -> [N, K]
      return output === 'softmax' ? F.softmax(logits, -1) : output === 'sigmoid' ? logits.sigmoid() : logits;
    };
    const bytes = exportOnnx(({ image }) => forward(image!), [{ name: 'image', tensor: zeros([2, 3, size, size]), dynamicBatch: true }], {
      outputNames: [output === 'logits' ? 'logits' : 'probabilities'],
      names: [...bundle.model.stateDict(), ['fewshot.descriptions_t', description], ['fewshot.head_weight_t', headWeight], ['fewshot.head_bias', headBias]],
      metadata: { ...classifierMetadataProps(metadata), 'hyperclip.templates': JSON.stringify(options.templates), 'hyperclip.fewshot': JSON.stringify(fewshot) },
      docString: `hyperclip few-shot classifier (${head.method}, ${options.shots} shots) for ${K} classes from ${metadata.sourceModel}`,
    });
    return { bytes, metadata, kept: kept.map((f) => head.names[f]!) };
  } finally {
    description.dispose();
    headWeight.dispose();
    headBias.dispose();
  }
}
