// Fixed augmented views: instead of a fresh random crop and flip at every
// draw, each image has K views whose augmentation depends on the image and
// the view index alone, never on the run. A draw picks one of the K from the
// run's seeded stream (resumable and reproducible like every other choice),
// so the same view of the same image has the same pixels in every run, and
// whatever is computed from it (a frozen prefix's features) can be stored
// once and read by later runs and seeds.
import { hash32, hashString } from './random.js';

/** What the loader needs of a store of per-view features: stored bytes, or null when it has none (absent or damaged). */
export interface ViewFeatureReader {
  read(id: string, view: number): Uint8Array | null;
}

export interface FixedViews {
  /** Views per image (K >= 1). */
  count: number;
  /** Stored per-view features: a sample found there is handed out with them instead of being decoded. */
  store?: ViewFeatureReader | null;
}

/** Per sample of a batch drawn with fixed views. */
export interface BatchViews {
  /** The image's identity across runs: its source's name and its key. */
  ids: string[];
  /** The view drawn, in [0, K). */
  index: Int32Array;
  /** The stored features, or null where the sample was decoded (its pixels are then in batch.images, in batch order). */
  stored: (Uint8Array | null)[];
}

const VIEW_SALT = 0x71e3a5c1;
const AUGMENTATION_SALT = 0x5eed0f1e;

/** The view a draw takes, from the draw's own seed (the run's seed, source, epoch and position). */
export const viewOfDraw = (drawSeed: number, count: number): number => hash32(drawSeed, VIEW_SALT) % count;

/** The augmentation seed of an image's view: the same in every run, whatever its seed. */
export const viewSeed = (id: string, view: number): number => hash32(hashString(id), view, AUGMENTATION_SALT);

/** An image's identity: the name of the source it comes from and its sample key. */
export const sampleId = (sourceName: string, key: string): string => `${sourceName}/${key}`;

export function checkFixedViews(views: FixedViews, sourceNames: (string | undefined)[]): void {
  if (!Number.isInteger(views.count) || views.count < 1) throw new Error(`expected a view count >= 1, received ${views.count}`);
  if (sourceNames.some((name) => name === undefined || name === '')) {
    throw new Error('fixed views need a name for every loader source (the dataset it comes from), so an image is known across runs');
  }
}
