// Where a sample's caption (and label) comes from: real captions (Flickr8k:
// .json {captions: [...]}, one drawn at random each time, .txt fallback), a
// class index (.cls) turned into a caption through prompt templates, or
// nothing (unlabelled images: calibration needs pixels only).
import { createRng, randomIndex } from './random.js';
import type { RawSample } from './webdataset/reader.js';
import type { SkipReason } from './webdataset/skip-counter.js';

export type CaptionSource =
  | { kind: 'text' }
  /** Images only: every sample's caption is "" and its label -1. */
  | { kind: 'none' }
  | {
    kind: 'label'; classnames: string[]; templates: string[];
    /** Per class, the names its captions draw from (synonyms, hypernym phrases); default: its class name. */
    names?: string[][];
    /**
     * Only these class indices are read (held-out classes kept out of
     * training, or a held-out evaluation); a sample's label is then its
     * class's position in this list. Other samples are filtered, not skipped.
     */
    subset?: readonly number[];
    /**
     * With subset: per subset entry, the label its samples get instead of
     * their position (several classes may share one: e.g. WordNet groups,
     * src/eval/tin-groups.ts). As long as subset.
     */
    subsetLabels?: readonly number[];
  };

export interface Annotation { caption: string; label: number }

/** A sample of a class outside the source's subset: left out on purpose, not bad data. */
export const OUTSIDE_SUBSET = 'outside_subset';

const subsetPositions = new WeakMap<readonly number[], Map<number, number>>();
function positionInSubset(subset: readonly number[], label: number): number | undefined {
  let positions = subsetPositions.get(subset);
  if (positions === undefined) subsetPositions.set(subset, positions = new Map(subset.map((c, i) => [c, i])));
  return positions.get(label);
}

export const SIMPLE_TEMPLATES = ['a photo of a {}.'];

function textCaption(sample: RawSample, seed: number): Annotation | SkipReason {
  const json = sample.members.get('json');
  if (json) {
    try {
      const captions = (JSON.parse(json.toString('utf8')) as { captions?: unknown }).captions;
      if (Array.isArray(captions)) {
        const usable = captions.filter((c): c is string => typeof c === 'string' && c.trim() !== '');
        if (usable.length > 0) return { caption: usable[randomIndex(createRng(seed ^ 0x2c1b3c6d), usable.length)], label: -1 };
      }
    } catch {
      // Fall through to the .txt member.
    }
  }
  const txt = sample.members.get('txt')?.toString('utf8').trim();
  return txt ? { caption: txt, label: -1 } : 'missing_caption';
}

function labelCaption(sample: RawSample, source: Extract<CaptionSource, { kind: 'label' }>, seed: number): Annotation | SkipReason | typeof OUTSIDE_SUBSET {
  const cls = sample.members.get('cls');
  if (!cls) return 'missing_label';
  const text = cls.toString('utf8').trim();
  // Decimal digits only: Number() would read "" as 0 and "0x3" as 3.
  const label = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(label) || label < 0 || label >= source.classnames.length) return 'bad_annotation';
  const rng = createRng(seed ^ 0x5bd1e995);
  const template = source.templates[randomIndex(rng, source.templates.length)];
  // Only sources with alternative names draw a second number, so captions of plain label sources stay as they were.
  const names = source.names?.[label];
  const name = names && names.length > 1 ? names[randomIndex(rng, names.length)] : source.classnames[label];
  const caption = template.replaceAll('{}', name);
  if (source.subset === undefined) return { caption, label };
  const position = positionInSubset(source.subset, label);
  if (position === undefined) return OUTSIDE_SUBSET;
  if (source.subsetLabels === undefined) return { caption, label: position };
  if (source.subsetLabels.length !== source.subset.length) {
    throw new Error(`subsetLabels has ${source.subsetLabels.length} labels for a subset of ${source.subset.length} classes: give one per subset class`);
  }
  return { caption, label: source.subsetLabels[position]! };
}

/** The caption and label of a sample (label -1 when the source has none), or why it is skipped. */
export function annotate(sample: RawSample, source: CaptionSource, seed: number): Annotation | SkipReason | typeof OUTSIDE_SUBSET {
  if (source.kind === 'none') return { caption: '', label: -1 };
  return source.kind === 'text' ? textCaption(sample, seed) : labelCaption(sample, source, seed);
}

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'tif', 'tiff', 'gif'];

/** The encoded image of a sample: the first member with an image extension. */
export function imageMember(sample: RawSample): Buffer | undefined {
  for (const extension of IMAGE_EXTENSIONS) {
    const data = sample.members.get(extension);
    if (data) return data;
  }
  return undefined;
}
