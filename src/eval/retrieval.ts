// Image-text retrieval (Flickr8k test: every image with all of its captions).
// Conditioning: HyperCLIP's image encoder is conditioned on ONE task, the set
// made of the first caption of every gallery image, just as a classifier is
// conditioned on its whole class set. The SigLIP baseline ignores it. The
// rule is the same for every model, and no image sees its own caption alone.
import { F, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import { createLoader, expandShards, iterateSamples, type LoaderSource } from '../data/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { NormParams } from '../models/index.js';
import { encodeTexts } from './text-features.js';

export interface RetrievalResult {
  images: number;
  captions: number;
  imageToText: { r1: number; r5: number; r10: number };
  textToImage: { r1: number; r5: number; r10: number };
  skipped: string;
}

export interface RetrievalOptions {
  limit?: number;
  batchSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number | null) => void;
}

async function readCaptions(shards: string[]): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  for await (const sample of iterateSamples(shards)) {
    const json = sample.members.get('json');
    let captions: string[] = [];
    try {
      captions = json ? (JSON.parse(json.toString('utf8')).captions as string[]).filter((c) => typeof c === 'string' && c.trim() !== '') : [];
    } catch { /* fall back to .txt */ }
    const txt = sample.members.get('txt')?.toString('utf8').trim();
    if (captions.length === 0 && txt) captions = [txt];
    if (captions.length > 0) byKey.set(sample.key, captions);
  }
  return byKey;
}

function recallAtK(similarity: Tensor, isMatch: (row: number, col: number) => boolean): { r1: number; r5: number; r10: number } {
  const rows = similarity.size(0);
  const k = Math.min(10, similarity.size(1));
  const [, top] = similarity.topk(k, 1);
  const ranked = top.toArray();
  top.dispose();
  const hits = { r1: 0, r5: 0, r10: 0 };
  for (let r = 0; r < rows; r++) {
    const first = ranked.slice(r * k, (r + 1) * k).findIndex((c) => isMatch(r, c));
    if (first < 0) continue;
    if (first < 1) hits.r1++;
    if (first < 5) hits.r5++;
    if (first < 10) hits.r10++;
  }
  return { r1: hits.r1 / rows, r5: hits.r5 / rows, r10: hits.r10 / rows };
}

async function encodeGallery(bundle: Bundle, source: LoaderSource, normParams: NormParams | undefined, options: RetrievalOptions,
  wanted: Set<string>): Promise<{ embeddings: Tensor; keys: string[]; skipped: string }> {
  const loader = createLoader({ sources: [source], batchSize: options.batchSize ?? 256, preprocess: bundle.preprocess, shuffle: false, workers: options.workers });
  const parts: Tensor[] = [];
  const keys: string[] = [];
  try {
    for await (const batch of loader) {
      const images = [batch.size, 3, batch.height, batch.width];
      parts.push(noGrad(() => tidy(() => F.normalize(bundle.model.encodeImage(tensor(batch.images, images), normParams), -1))));
      keys.push(...batch.keys);
      options.onProgress?.(keys.length, options.limit ?? null);
      if (keys.length >= wanted.size) break;
    }
  } finally {
    await loader.close();
  }
  const all = F.cat(parts, 0);
  for (const p of parts) p.dispose();
  return { embeddings: all, keys, skipped: loader.skips.summary() };
}

/** Loose files (a CSV) carry their captions in the listing: one per row. */
async function captionsOf(source: LoaderSource): Promise<Map<string, string[]>> {
  if (source.files === undefined) return readCaptions(expandShards(source.shards));
  return new Map(source.files.files.filter((f) => f.caption !== undefined).map((f) => [f.key, [f.caption!]]));
}

export async function evaluateRetrieval(bundle: Bundle, source: LoaderSource, options: RetrievalOptions = {}): Promise<RetrievalResult> {
  const byKey = await captionsOf(source);
  const keys = [...byKey.keys()].slice(0, options.limit ?? Infinity);
  if (keys.length === 0) throw new Error('no captioned images in the retrieval data');
  const gallery = new Set(keys);
  const firstCaptions = keys.map((k) => byKey.get(k)![0]!);
  const normParams = bundle.model.hypernet === null ? undefined
    : noGrad(() => tidy(() => bundle.model.generateNormParams(encodeTexts(bundle.model, bundle.tokenizer, firstCaptions).unsqueeze(0))));
  const { embeddings, keys: imageKeys, skipped } = await encodeGallery(bundle, source, normParams, options, gallery);
  for (const { scale, shift } of normParams?.values() ?? []) { scale.dispose(); shift.dispose(); }
  const images = embeddings.slice(0, 0, Math.min(imageKeys.length, keys.length)); // [M, E]
  const used = imageKeys.slice(0, images.size(0));
  const captions: string[] = [];
  const owner: number[] = [];
  used.forEach((k, i) => {
    for (const c of byKey.get(k) ?? []) { captions.push(c); owner.push(i); }
  });
  const texts = encodeTexts(bundle.model, bundle.tokenizer, captions); // [5M, E]
  const result = noGrad(() => tidy(() => {
    const similarity = images.matmul(texts.transpose(0, 1)); // [M, 5M]
    return {
      imageToText: recallAtK(similarity, (img, cap) => owner[cap] === img),
      textToImage: recallAtK(similarity.transpose(0, 1).contiguous(), (cap, img) => owner[cap] === img),
    };
  }));
  for (const t of [embeddings, images, texts]) t.dispose();
  return { images: used.length, captions: captions.length, ...result, skipped };
}
