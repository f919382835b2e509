// The training mixture: recipe data sources -> loader sources, through the
// one dataset resolver: named splits ("flickr8k:train", "tiny-imagenet:train"),
// shards of image-caption pairs (or labelled ones with class names), an
// image folder (class folders; captions from templates) or a CSV/TSV of
// image paths and captions.
import { resolveData, type LoaderSource } from '../data/index.js';
import { heldOutClasses } from '../data/held-out.js';
import type { DataSourceConfig } from './recipes.js';

export function loaderSources(data: DataSourceConfig[]): LoaderSource[] {
  return data.map((source) => {
    const resolved = resolveData(source.dataset, {
      templates: source.templates, naming: source.naming, senses: source.senses, classnames: source.classnames, need: 'captions',
      csv: { imageKey: source.csvImgKey, captionKey: source.csvCaptionKey, separator: source.csvSeparator },
    });
    if (source.withoutHeldOut !== true) return { ...resolved.source, weight: source.weight, name: source.dataset };
    const caption = resolved.source.caption;
    if (!/^tiny-imagenet(:|$)/.test(source.dataset) || caption.kind !== 'label') {
      throw new Error(`withoutHeldOut applies to tiny-imagenet, whose classes the held-out names come from, not ${source.dataset}`);
    }
    return { ...resolved.source, caption: { ...caption, subset: heldOutClasses().trainable }, weight: source.weight, name: source.dataset };
  });
}
