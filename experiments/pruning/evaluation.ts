// The pruning experiment's evaluation, made cheap enough for a grid of
// ~100 pruned models on one CPU thread: the evaluation images are decoded
// once and kept in memory; each pruned model's conditioned image encoder is
// traced to ONNX (batch norm and generated norm parameters folded, as a
// deployed classifier) and run by onnxruntime, which is several times faster
// than the engine's eager forward; texts go through the engine.
// Same samples and rules as `hyperclip eval --limit N`: CIFAR test images
// from the seeded shuffle of one pass, CLIP templates; Flickr8k test: the
// first N captioned images, conditioned on the set of their first captions.
import type { Bundle } from '../../src/bundle/bundle.js';
import { createLoader, iterateSamples, resolveDataset, type CaptionSource } from '../../src/data/index.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { nodeOrt } from '../../src/deploy/runtime/node.js';
import { runnerFactory } from '../../src/deploy/runtime/ort-adapter.js';
import type { InferenceRunner } from '../../src/deploy/runtime/session.js';
import { F, noGrad, tensor, tidy, zeros, type Tensor } from '../../src/engine/index.js';
import { encodeTexts } from '../../src/eval/text-features.js';
import { buildClassifier, disposeClassifier, sampling } from '../../src/eval/zeroshot.js';
import type { NormParams } from '../../src/models/index.js';
import type { Scores } from './records.js';

/** onnxruntime on one thread, all graph optimisations: the deployment runtime, measured fairly against HYPERCLIP_THREADS=1. */
export const openOneThread = runnerFactory(nodeOrt, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });

export interface LabelledImages { name: string; pixels: Float32Array; labels: Int32Array; classnames: string[]; templates: string[]; size: number }
export interface CaptionedImages { pixels: Float32Array; captions: string[][]; size: number }
export interface EvalData { cifar10: LabelledImages; cifar100: LabelledImages; flickr8k: CaptionedImages; limit: number }

async function labelled(bundle: Bundle, name: 'cifar10' | 'cifar100', limit: number): Promise<LabelledImages> {
  const source = resolveDataset(name, 'test');
  const caption = source.caption as Extract<CaptionSource, { kind: 'label' }>;
  const loader = createLoader({ sources: [{ shards: source.shards, caption }], batchSize: 250, preprocess: bundle.preprocess, ...sampling(limit) });
  const size = bundle.preprocess.size, per = 3 * size * size;
  const pixels = new Float32Array(limit * per), labels = new Int32Array(limit);
  let n = 0;
  try {
    for await (const batch of loader) {
      const take = Math.min(batch.size, limit - n);
      pixels.set(batch.images.subarray(0, take * per), n * per);
      labels.set(batch.labels!.subarray(0, take), n);
      n += take;
      if (n >= limit) break;
    }
  } finally {
    await loader.close();
  }
  return { name, pixels: pixels.subarray(0, n * per), labels: labels.subarray(0, n), classnames: caption.classnames, templates: caption.templates, size };
}

async function captioned(bundle: Bundle, limit: number): Promise<CaptionedImages> {
  const source = resolveDataset('flickr8k', 'test');
  const byKey = new Map<string, string[]>();
  for await (const sample of iterateSamples(source.shards)) {
    const json = sample.members.get('json');
    const captions = json ? (JSON.parse(json.toString('utf8')).captions as string[]).filter((c) => typeof c === 'string' && c.trim() !== '') : [];
    if (captions.length > 0) byKey.set(sample.key, captions);
    if (byKey.size >= limit) break;
  }
  const loader = createLoader({ sources: [{ shards: source.shards, caption: source.caption }], batchSize: 250, preprocess: bundle.preprocess, shuffle: false });
  const size = bundle.preprocess.size, per = 3 * size * size;
  const pixels = new Float32Array(byKey.size * per);
  const captions: string[][] = [];
  try {
    for await (const batch of loader) {
      batch.keys.forEach((key, i) => {
        const own = byKey.get(key);
        if (own === undefined || captions.length >= byKey.size) return;
        pixels.set(batch.images.subarray(i * per, (i + 1) * per), captions.length * per);
        captions.push(own);
      });
      if (captions.length >= byKey.size) break;
    }
  } finally {
    await loader.close();
  }
  return { pixels: pixels.subarray(0, captions.length * per), captions, size };
}

export async function loadEvalData(bundle: Bundle, limit: number): Promise<EvalData> {
  return { cifar10: await labelled(bundle, 'cifar10', limit), cifar100: await labelled(bundle, 'cifar100', limit), flickr8k: await captioned(bundle, limit), limit };
}

/** The model's L2-normalised image embeddings for one task's norm parameters, through an exported ONNX graph. */
async function imageEmbeddings(bundle: Bundle, normParams: NormParams | null, pixels: Float32Array, size: number): Promise<Tensor> {
  const bytes = exportOnnx(({ image }) => F.normalize(bundle.model.encodeImage(image!, normParams ?? undefined), -1),
    [{ name: 'image', tensor: zeros([2, 3, size, size]), dynamicBatch: true }], { outputNames: ['embedding'], names: bundle.model.stateDict() });
  const runner: InferenceRunner = await openOneThread(bytes);
  const per = 3 * size * size, count = pixels.length / per;
  const parts: Float32Array[] = [];
  try {
    for (let start = 0; start < count; start += 100) {
      const n = Math.min(100, count - start);
      const out = await runner.run({ image: { data: pixels.subarray(start * per, (start + n) * per), dims: [n, 3, size, size] } });
      parts.push(out.embedding!.data as Float32Array);
    }
  } finally {
    await runner.release();
  }
  const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) { all.set(p, offset); offset += p.length; }
  return tensor(all, [count, all.length / count]);
}

export async function zeroShotTop1(bundle: Bundle, data: LabelledImages): Promise<number> {
  const classifier = buildClassifier(bundle, data.classnames, data.templates);
  try {
    const embeddings = await imageEmbeddings(bundle, classifier.normParams, data.pixels, data.size);
    const predicted = noGrad(() => tidy(() => embeddings.matmul(classifier.classEmbeddings.transpose(0, 1)).argmax(1).toArray()));
    embeddings.dispose();
    return predicted.filter((p, i) => p === data.labels[i]).length / predicted.length;
  } finally {
    disposeClassifier(classifier);
  }
}

function recallAt1(similarity: number[], rows: number, cols: number, isMatch: (row: number, col: number) => boolean): number {
  let hits = 0;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (similarity[r * cols + c]! > similarity[r * cols + best]!) best = c;
    if (isMatch(r, best)) hits++;
  }
  return hits / rows;
}

export async function retrievalR1(bundle: Bundle, data: CaptionedImages): Promise<{ imageToText: number; textToImage: number }> {
  const model = bundle.model;
  const normParams = model.hypernet === null ? null
    : noGrad(() => tidy(() => model.generateNormParams(encodeTexts(model, bundle.tokenizer, data.captions.map((c) => c[0]!)).unsqueeze(0))));
  const images = await imageEmbeddings(bundle, normParams, data.pixels, data.size); // [M, E]
  for (const { scale, shift } of normParams?.values() ?? []) { scale.dispose(); shift.dispose(); }
  const owner = data.captions.flatMap((c, i) => c.map(() => i));
  const texts = encodeTexts(model, bundle.tokenizer, data.captions.flat()); // [5M, E]
  const similarity = noGrad(() => tidy(() => images.matmul(texts.transpose(0, 1)).toArray())); // [M, 5M]
  const M = images.size(0), K = owner.length;
  const transposed = new Array<number>(K * M);
  for (let r = 0; r < M; r++) for (let c = 0; c < K; c++) transposed[c * M + r] = similarity[r * K + c]!;
  images.dispose();
  texts.dispose();
  return {
    imageToText: recallAt1(similarity, M, K, (img, cap) => owner[cap] === img),
    textToImage: recallAt1(transposed, K, M, (cap, img) => owner[cap] === img),
  };
}

export async function evaluate(bundle: Bundle, data: EvalData): Promise<Scores> {
  const cifar10 = await zeroShotTop1(bundle, data.cifar10);
  const cifar100 = await zeroShotTop1(bundle, data.cifar100);
  return { cifar10, cifar100, ...(await retrievalR1(bundle, data.flickr8k)) };
}
