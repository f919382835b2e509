// The training mixture: recipe data sources -> loader sources.
import { expandShards, resolveDatasetSpec, type LoaderSource } from '../data/index.js';
import { heldOutClasses } from '../data/held-out.js';
import type { DataSourceConfig } from './recipes.js';

/** "flickr8k:train", "tiny-imagenet:train" or "cifar100:train" by name; anything else is a shard list of image-caption pairs (.txt/.json). */
export function loaderSources(data: DataSourceConfig[]): LoaderSource[] {
  return data.map((source) => {
    if (/^[a-z0-9-]+:[a-z]+$/.test(source.dataset)) {
      const resolved = resolveDatasetSpec(source.dataset, source.templates ?? 'clip', source.naming ?? 'classname');
      if (source.withoutHeldOut === true) {
        if (resolved.name !== 'tiny-imagenet' || resolved.caption.kind !== 'label') {
          throw new Error(`withoutHeldOut applies to tiny-imagenet, whose classes the held-out names come from, not ${source.dataset}`);
        }
        return { shards: resolved.shards, caption: { ...resolved.caption, subset: heldOutClasses().trainable }, weight: source.weight };
      }
      return { shards: resolved.shards, caption: resolved.caption, weight: source.weight };
    }
    if (source.withoutHeldOut === true) throw new Error(`withoutHeldOut applies to tiny-imagenet, not to the shards ${source.dataset}`);
    return { shards: expandShards(source.dataset), caption: { kind: 'text' as const }, weight: source.weight };
  });
}
