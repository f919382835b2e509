// Zero-shot accuracy under corruptions: the clean test images are decoded
// once at their native resolution, each corruption is applied there, and
// only then the evaluation preprocessing (crop, resize, normalise) runs, as
// a camera's noisy image would meet the deployed classifier.
import sharp from 'sharp';
import { annotate, chooseAugmentation, cropResizeNormalize, hash32, imageMember, SampleStream, streamSource, type LoaderSource, type RawImage } from '../../data/index.js';
import type { Bundle } from '../../bundle/bundle.js';
import { buildClassifier, classifyPixels, disposeClassifier, sampling } from '../zeroshot.js';
import { CORRUPTION_NAMES, corrupt, type CorruptionName } from './corruptions.js';
import { ClassificationTally, topkRows } from '../scoring.js';
import { releaseMemory } from '../../engine/index.js';

export interface CorruptionOptions {
  corruptions: CorruptionName[];
  /** Severities 1..5 to evaluate. */
  severities: number[];
  limit?: number;
  /** Images per forward (default 64). */
  batchSize?: number;
  /** Seeds every corruption's random choices. */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CorruptionScore { corruption: CorruptionName; severity: number; top1: number }

export interface CorruptionResult {
  samples: number;
  clean: number;
  scores: CorruptionScore[];
  /** Mean top-1 over each corruption at each severity. */
  perCorruption: { corruption: CorruptionName; top1: number }[];
  /** Mean top-1 over all corrupted evaluations. */
  meanCorrupted: number;
  severities: number[];
  seed: number;
}

interface LabelledImage { image: RawImage; label: number }

/** The test images (the same seeded sample evaluateZeroShot reads under a limit), decoded at native resolution. */
export async function readCleanImages(source: LoaderSource, limit: number | undefined): Promise<LabelledImage[]> {
  const { shuffle, epochs, shuffleBuffer, seed } = sampling(limit);
  const stream = new SampleStream({ sources: [streamSource(source)], shuffle, epochs, bufferSize: shuffleBuffer, seed });
  const out: LabelledImage[] = [];
  try {
    while (limit === undefined || out.length < limit) {
      const item = await stream.next();
      if (item === null) break;
      const encoded = imageMember(item.sample);
      const annotation = annotate(item.sample, source.caption, item.seed);
      if (encoded === undefined || typeof annotation === 'string' || annotation.label < 0) continue;
      try {
        const { data, info } = await sharp(encoded, { failOn: 'error' }).rotate().toColourspace('srgb').removeAlpha().raw()
          .toBuffer({ resolveWithObject: true });
        out.push({ image: { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels }, label: annotation.label });
      } catch {
        // An undecodable image is skipped, as the loader does.
      }
    }
  } finally {
    await stream.close();
  }
  if (out.length === 0) throw new Error('no readable labelled images in the evaluated data');
  return out;
}

export async function evaluateCorruptions(bundle: Bundle, source: LoaderSource, classnames: string[], templates: string[],
  options: CorruptionOptions): Promise<CorruptionResult> {
  const images = await readCleanImages(source, options.limit);
  const classifier = buildClassifier(bundle, classnames, templates);
  const seed = options.seed ?? 0;
  const conditions: [CorruptionName | null, number][] = [[null, 0]];
  for (const c of options.corruptions) for (const s of options.severities) conditions.push([c, s]);
  const scores: CorruptionScore[] = [];
  let clean = NaN;
  try {
    for (const [index, [corruption, severity]] of conditions.entries()) {
      const top1 = await accuracy(bundle, classifier, images, options.batchSize ?? 64,
        (image, i) => (corruption === null ? Promise.resolve(image)
          : corrupt(image, corruption, severity, hash32(seed, i, CORRUPTION_NAMES.indexOf(corruption), severity))));
      if (corruption === null) clean = top1;
      else scores.push({ corruption, severity, top1 });
      // Each condition's batches leave the C heap's freed blocks behind, fragmented, and the addon
      // never trims it on its own: 46 conditions of 500 images on MobileNet v2 at 160 px (batches
      // of 256 then) grew resident memory past 24 GB. Handing them back keeps it flat.
      releaseMemory();
      options.onProgress?.(index + 1, conditions.length);
    }
  } finally {
    disposeClassifier(classifier);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perCorruption = options.corruptions.map((c) => ({ corruption: c, top1: mean(scores.filter((s) => s.corruption === c).map((s) => s.top1)) }));
  return {
    samples: images.length, clean, scores, perCorruption, meanCorrupted: scores.length === 0 ? NaN : mean(scores.map((s) => s.top1)),
    severities: options.severities, seed,
  };
}

async function accuracy(bundle: Bundle, classifier: ReturnType<typeof buildClassifier>, images: LabelledImage[], batchSize: number,
  transform: (image: RawImage, index: number) => Promise<RawImage>): Promise<number> {
  const spec = bundle.preprocess;
  const plane = 3 * spec.size * spec.size;
  const tally = new ClassificationTally(classifier.classEmbeddings.size(0));
  for (let start = 0; start < images.length; start += batchSize) {
    const batch = images.slice(start, start + batchSize);
    const pixels = new Float32Array(batch.length * plane);
    const corrupted = await Promise.all(batch.map((b, i) => transform(b.image, start + i)));
    corrupted.forEach((image, i) => {
      cropResizeNormalize(image, chooseAugmentation(spec, image.width, image.height, 0), spec, pixels, i * plane);
    });
    const logits = classifyPixels(bundle, classifier, pixels, [batch.length, 3, spec.size, spec.size]);
    const scores = logits.toArray(); // [n, K]
    logits.dispose();
    tally.add(topkRows(scores, batch.length, tally.width), batch.map((b) => b.label));
  }
  return tally.top1;
}
