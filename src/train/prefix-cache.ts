// The frozen prefix's features, stored per image and fixed view, so that
// training pays for decoding and for the prefix once per view instead of at
// every draw, across runs and seeds that share the tower, resolution and
// augmentation (the key, prefix-cache-key.ts). The loader hands out a stored
// view without decoding it; a view not stored yet is decoded, its prefix
// computed here and written for the next time.
//
// Every feature passes through float16, stored or just computed, so a run's
// numbers do not depend on what the cache held when it started.
import { noGrad, tensor } from '../engine/index.js';
import { FeatureStore, type Batch, type FixedViews, type FeatureStoreStats, type PreprocessSpec } from '../data/index.js';
import type { HyperClip, PrefixFeatures } from '../models/hyperclip.js';
import { onDevice } from './distributed-step.js';
import { cacheablePrefixShape, prefixCacheFolder, prefixCacheKey } from './prefix-cache-key.js';

export interface FeatureCacheConfig {
  /**
   * Fixed augmented views per image (K): a draw takes one of the K, chosen
   * from the run's seed. This changes the augmentation: K crops and flips
   * per image for the whole run instead of a fresh one at every draw.
   */
  views: number;
  /**
   * Cache the output of this many leading blocks (at most the frozen
   * prefix; default all of it). A SigLIP baseline, whose whole tower is
   * frozen, set to its HyperCLIP twin's depth shares that twin's cache; the
   * rest of its frozen blocks then run at every step.
   */
  blocks?: number;
  /** The cache folder; default `.cache/prefix-features/<tower>-<blocks>b-<size>px-<K>v-<key hash>`. */
  dir?: string;
}

export const DEFAULT_CACHE_ROOT = '.cache/prefix-features';

export class PrefixCache {
  private readonly entryBytes: number;

  constructor(readonly store: FeatureStore, readonly blocks: number, readonly shape: number[], readonly views: number) {
    this.entryBytes = 2 * shape.reduce((a, b) => a * b, 1);
  }

  /** What the loader needs: the view count, and the store whose views it need not decode. */
  get fixedViews(): FixedViews {
    return { count: this.views, store: this.store };
  }

  /** The batch's prefix features [N, C, h, w]: stored views read, the others computed from their pixels and stored. */
  prefix(model: HyperClip, batch: Batch): PrefixFeatures {
    const views = batch.views;
    if (views === undefined) throw new Error('feature cache: the batch has no fixed views: build the loader with the objective\'s fixedViews');
    const per = this.entryBytes;
    const all = new Uint8Array(batch.size * per); // float16 [N, C, h, w]
    const decoded: number[] = [];
    views.stored.forEach((stored, row) => (stored === null ? decoded.push(row) : all.set(stored, row * per)));
    if (decoded.length > 0) {
      const pixels = 3 * batch.height * batch.width;
      if (batch.images.length !== decoded.length * pixels) throw new Error(`feature cache: ${decoded.length} views to compute but pixels for ${batch.images.length / pixels}`);
      const images = onDevice(tensor(batch.images, [decoded.length, 3, batch.height, batch.width]), model); // [D, 3, H, W]
      const fresh = noGrad(() => model.imageEncoder.forwardPrefix(images, this.blocks).to('float16')).data(); // [D, C, h, w] float16
      const bytes = new Uint8Array(fresh.buffer, fresh.byteOffset, fresh.byteLength);
      decoded.forEach((row, j) => {
        const entry = bytes.subarray(j * per, (j + 1) * per);
        all.set(entry, row * per);
        this.store.put(views.ids[row]!, views.index[row]!, entry);
      });
    }
    const half = tensor(new Uint16Array(all.buffer), [batch.size, ...this.shape], { dtype: 'float16' });
    return { prefix: onDevice(half.to('float32'), model), block: this.blocks };
  }

  get stats(): FeatureStoreStats {
    return this.store.stats;
  }

  /** Writes the views still waiting and closes the store's files. */
  close(): void {
    this.store.close();
  }
}

/** Opens the cache of this model's frozen prefix, its folder named by the key unless `config.dir` names one. */
export function openPrefixCache(config: FeatureCacheConfig, model: HyperClip, blocks: number, setup: { preprocess: PreprocessSpec; initFrom?: string }): PrefixCache {
  const shape = cacheablePrefixShape(model, blocks);
  const key = prefixCacheKey(model, blocks, shape, { preprocess: setup.preprocess, views: config.views, initFrom: setup.initFrom });
  const dir = config.dir ?? prefixCacheFolder(DEFAULT_CACHE_ROOT, key);
  const store = FeatureStore.open(dir, { ...key }, { entryBytes: 2 * shape.reduce((a, b) => a * b, 1) });
  return new PrefixCache(store, blocks, shape, config.views);
}
