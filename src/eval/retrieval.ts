// Image-text retrieval (Flickr8k test: every image with all of its captions).
// Conditioning: HyperCLIP's image encoder is conditioned on ONE task, the set
// made of the first caption of every gallery image, just as a classifier is
// conditioned on its whole class set. The SigLIP baseline ignores it. The
// rule is the same for every model and every embedder, and no image sees its
// own caption alone.
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { LoaderSource } from '../data/index.js';
import type { Bundle } from '../bundle/bundle.js';
import type { NormParams } from '../models/index.js';
import { galleryFeed, readGallery, type FeedOptions, type Gallery, type GalleryBatch } from './feed.js';
import { libtorchImageEmbedder, type ImageEmbedder } from './image-features.js';
import { retrievalRecall, type RecallAtK } from './scoring.js';
import { encodeTexts } from './text-features.js';

export interface RetrievalScores {
  images: number;
  captions: number;
  imageToText: RecallAtK;
  textToImage: RecallAtK;
}

export interface RetrievalResult extends RetrievalScores {
  skipped: string;
}

export interface RetrievalOptions extends FeedOptions {
  onProgress?: (done: number, total: number | null) => void;
}

/** The norm parameters a model's image encoder generates from the gallery's first captions; null for a model without a hypernetwork. */
export function galleryConditioning(bundle: Bundle, gallery: Gallery): NormParams | null {
  if (bundle.model.hypernet === null) return null;
  const firstCaptions = gallery.captions.map((c) => c[0]!);
  return noGrad(() => tidy(() => bundle.model.generateNormParams(encodeTexts(bundle.model, bundle.tokenizer, firstCaptions).unsqueeze(0))));
}

export function disposeNormParams(params: NormParams | null): void {
  for (const { scale, shift } of params?.values() ?? []) {
    scale.dispose();
    shift.dispose();
  }
}

/**
 * Embeds the gallery images a feed yields and every caption of them, and
 * scores the recall of the two directions.
 */
export async function scoreRetrieval(embedImages: ImageEmbedder, embedTexts: (texts: string[]) => Tensor, gallery: Gallery,
  batches: AsyncIterable<GalleryBatch>, onProgress?: (done: number) => void): Promise<RetrievalScores> {
  const parts: Float32Array[] = [];
  const order: number[] = []; // gallery index of each embedded image
  for await (const batch of batches) {
    parts.push(await embedImages(batch.pixels, batch.shape));
    order.push(...batch.indices);
    onProgress?.(order.length);
  }
  if (order.length === 0) throw new Error('no gallery image of the retrieval data could be read');
  const embedded = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => { embedded.set(p, at); return at + p.length; }, 0);
  const captions: string[] = [];
  const imageOfCaption: number[] = [];
  order.forEach((index, row) => {
    for (const c of gallery.captions[index]!) { captions.push(c); imageOfCaption.push(row); }
  });
  const images = tensor(embedded, [order.length, embedded.length / order.length]); // [M, E]
  const texts = embedTexts(captions); // [5M, E]
  try {
    return { images: order.length, captions: captions.length, ...retrievalRecall(images, texts, imageOfCaption) };
  } finally {
    images.dispose();
    texts.dispose();
  }
}

export async function evaluateRetrieval(bundle: Bundle, source: LoaderSource, options: RetrievalOptions = {}): Promise<RetrievalResult> {
  const gallery = await readGallery(source, options.limit);
  if (gallery.keys.length === 0) throw new Error('no captioned images in the retrieval data');
  const feed = galleryFeed(source, bundle.preprocess, gallery, options);
  const normParams = galleryConditioning(bundle, gallery);
  try {
    const scores = await scoreRetrieval(libtorchImageEmbedder(bundle, normParams), (texts) => encodeTexts(bundle.model, bundle.tokenizer, texts), gallery, feed,
      (done) => options.onProgress?.(done, options.limit ?? null));
    return { ...scores, skipped: feed.skipped() };
  } finally {
    disposeNormParams(normParams);
  }
}
