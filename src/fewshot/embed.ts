// The text and image side of few-shot learning with a hyperclip model: the
// normalised embeddings of every description and class prompt, the image
// encoder conditioned on a set of texts (the class prompts, or all the
// descriptions), and normalised image embeddings under each conditioning.
import { F, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { Bundle } from '../bundle/bundle.js';
import { createLoader, decodeImage, type CaptionSource, type LoaderFiles } from '../data/index.js';
import { buildClassifier, disposeClassifier, sampling } from '../eval/zeroshot.js';
import { encodeTexts } from '../eval/text-features.js';
import type { NormParams } from '../models/index.js';
import type { ClassDescriptions } from './descriptions.js';

/** Which texts the hypernetwork reads to generate the image encoder. */
export type Conditioning = 'prompts' | 'descriptions';
export const CONDITIONINGS: readonly Conditioning[] = ['prompts', 'descriptions'];

export interface TextSide {
  classNames: string[];
  templates: string[];
  dim: number;
  /** The augmented set: every description sentence, then one class prompt per class (averaged over the templates). */
  texts: string[];
  /** The class each text describes. */
  owner: Int32Array;
  /** [texts, E], L2-normalised. */
  embeddings: Float32Array;
  /** Index of the first class prompt in texts (= the number of descriptions). */
  firstPrompt: number;
  /** Generated norm parameters [1, C] per layer by conditioning; null for a model without a hypernetwork. */
  normParams: Record<Conditioning, NormParams | null>;
}

/** Label of a class prompt in the augmented set (its embedding averages the templates). */
export const promptLabel = (className: string): string => `[class prompt] ${className}`;

export function buildTextSide(bundle: Bundle, descriptions: ClassDescriptions, templates: string[]): TextSide {
  const { classNames } = descriptions;
  const dim = bundle.config.embedDim;
  const sentences = descriptions.sentences.flat();
  const owner = Int32Array.from(descriptions.sentences.flatMap((list, k) => list.map(() => k)).concat(classNames.map((_, k) => k)));
  const zeroShot = buildClassifier(bundle, classNames, templates); // [K, E] + norm params [1, C]
  try {
    return noGrad(() => tidy(() => {
      const prompts = zeroShot.classEmbeddings; // [K, E]
      const all = sentences.length === 0 ? prompts : F.cat([encodeTexts(bundle.model, bundle.tokenizer, sentences), prompts], 0); // [M + K, E]
      const byDescriptions = bundle.model.hypernet === null ? null : bundle.model.generateNormParams(all.unsqueeze(0)); // [1, C] per layer
      const side: TextSide = {
        classNames, templates, dim, texts: [...sentences, ...classNames.map(promptLabel)], owner,
        embeddings: all.data() as Float32Array, firstPrompt: sentences.length,
        normParams: { prompts: copyParams(zeroShot.normParams), descriptions: copyParams(byDescriptions) },
      };
      return side;
    }));
  } finally {
    disposeClassifier(zeroShot);
  }
}

/** Norm parameters held outside any tidy scope (the caller disposes them with disposeTextSide). */
function copyParams(params: NormParams | null): NormParams | null {
  if (params === null) return null;
  const out: NormParams = new Map();
  for (const [name, { scale, shift }] of params) out.set(name, { scale: keepClone(scale), shift: keepClone(shift) });
  return out;
}

function keepClone(t: Tensor): Tensor {
  const copy = tensor(t.data() as Float32Array, t.shape);
  copy.escape();
  return copy;
}

export function disposeTextSide(side: TextSide): void {
  for (const params of Object.values(side.normParams)) for (const { scale, shift } of params?.values() ?? []) {
    scale.dispose();
    shift.dispose();
  }
}

// Images per forward pass. A pass keeps every activation until its scope
// closes: about 40 MB per image for MobileNetV2 at 160 px, so a batch of 256
// took 11 GB resident (and the allocator keeps its peak). 16 at a time peaks
// near 0.6 GB over the model, is no slower per image on one thread, and gives
// the same embeddings (to float32 rounding).
const FORWARD_CHUNK = 16;

/** Normalised image embeddings [N, E] of a preprocessed NCHW float32 batch, FORWARD_CHUNK images per forward pass. */
export function embedPixels(bundle: Bundle, pixels: Float32Array, count: number, normParams: NormParams | null): Float32Array {
  const size = bundle.preprocess.size, per = 3 * size * size, dim = bundle.config.embedDim;
  const out = new Float32Array(count * dim);
  noGrad(() => {
    for (let start = 0; start < count; start += FORWARD_CHUNK) {
      const n = Math.min(FORWARD_CHUNK, count - start);
      out.set(tidy(() => {
        const x = tensor(pixels.subarray(start * per, (start + n) * per), [n, 3, size, size]);
        return F.normalize(bundle.model.encodeImage(x, normParams ?? undefined), -1).data() as Float32Array;
      }), start * dim);
    }
  });
  return out;
}

export interface EmbeddedImages {
  /** [N, E] per conditioning, L2-normalised. */
  embeddings: Map<NormParams | null, Float32Array>;
  labels: Int32Array;
  count: number;
  /** What reading the images skipped (test data read by the loader). */
  skipped?: string;
}

const BATCH = 256;

/** Decodes encoded images (evaluation preprocessing) and embeds them under each conditioning. */
export async function embedEncoded(bundle: Bundle, images: Uint8Array[], labels: Int32Array, conditionings: (NormParams | null)[],
  onProgress?: (done: number) => void): Promise<EmbeddedImages> {
  const size = bundle.preprocess.size;
  const per = 3 * size * size;
  const dim = bundle.config.embedDim;
  const out = new Map(conditionings.map((c) => [c, new Float32Array(images.length * dim)]));
  const pixels = new Float32Array(BATCH * per);
  for (let start = 0; start < images.length; start += BATCH) {
    const chunk = images.slice(start, start + BATCH);
    await Promise.all(chunk.map((jpeg, i) => decodeImage(jpeg, bundle.preprocess, 0, pixels, i * per)));
    for (const c of conditionings) out.get(c)!.set(embedPixels(bundle, pixels, chunk.length, c), start * dim);
    onProgress?.(start + chunk.length);
  }
  return { embeddings: out, labels, count: images.length };
}

/** A labelled test set (shards or loose files; a seeded shuffle when limited, as evaluation does), embedded under each conditioning. */
export async function embedShards(bundle: Bundle, data: LoaderFiles, classNames: string[], conditionings: (NormParams | null)[],
  limit?: number, onProgress?: (done: number) => void): Promise<EmbeddedImages> {
  const caption: CaptionSource = { kind: 'label', classnames: classNames, templates: ['{}'] };
  const loader = createLoader({ sources: [{ ...data, caption }], batchSize: BATCH, preprocess: bundle.preprocess, workers: 1, ...sampling(limit) });
  const dim = bundle.config.embedDim;
  const parts = new Map<NormParams | null, Float32Array[]>(conditionings.map((c) => [c, []]));
  const labels: number[] = [];
  try {
    for await (const batch of loader) {
      if (batch.labels === null) throw new Error('the test shards have no class labels (.cls members)');
      const take = limit === undefined ? batch.size : Math.min(batch.size, limit - labels.length);
      for (const c of conditionings) parts.get(c)!.push(embedPixels(bundle, batch.images, take, c));
      labels.push(...batch.labels.subarray(0, take));
      onProgress?.(labels.length);
      if (limit !== undefined && labels.length >= limit) break;
    }
  } finally {
    await loader.close();
  }
  if (labels.length === 0) throw new Error(`no readable labelled images in ${data.files?.origin ?? data.shards} (${loader.skips.summary()})`);
  const embeddings = new Map([...parts].map(([c, list]) => {
    const all = new Float32Array(labels.length * dim);
    let at = 0;
    for (const p of list) { all.set(p, at); at += p.length; }
    return [c, all];
  }));
  return { embeddings, labels: Int32Array.from(labels), count: labels.length, skipped: loader.skips.summary() };
}
