// The data side's public face (the tokenizer has its own: ./tokenizer/index.js).
export { iterateSamples, readShard, splitMemberName, type RawSample, type ReadOptions } from './webdataset/reader.js';
export { expandShards, assertShardsExist } from './webdataset/shards.js';
export { SkipCounter, type SkipReason } from './webdataset/skip-counter.js';
export { SampleStream, type SourceFiles, type StreamOptions, type StreamState, type StreamItem, type SourcePosition, type SourceOptions } from './webdataset/stream.js';
export {
  CLIP_MEAN, CLIP_STD, evalPreprocess, trainPreprocess, resolvePreprocess, centerCropBox, randomResizedCropBox,
  chooseAugmentation, hwcToNormalizedChw, cropResizeNormalize, type RawImage, type PreprocessSpec, type CropBox, type CropMode, type ResizeKernel, type Augmentation,
} from './preprocess.js';
export { decodeImage, checkImage, PIXEL_LIMIT_MESSAGE } from './images.js';
export { DecodePool } from './decode-pool.js';
export { decodeChunk, type DecodeJob, type DecodedChunk } from './decode-chunk.js';
export { annotate, imageMember, SIMPLE_TEMPLATES, IMAGE_EXTENSIONS, type CaptionSource, type Annotation } from './captions.js';
export { DATASETS, dataRoot, clipPrompts, imagenetTemplates, resolveDataset, resolveDatasetSpec, shardsOfSplit, type DatasetName, type DatasetSource, type LabelNaming } from './datasets.js';
export { DataLoader, createLoader, streamSource, type Batch, type LoaderFiles, type LoaderOptions, type LoaderSource, type LoaderState } from './loader.js';
export { hash32, hashString, hashUniform, createRng, shuffled, type Rng } from './random.js';
export { viewOfDraw, viewSeed, sampleId, type FixedViews, type BatchViews, type ViewFeatureReader } from './fixed-views.js';
export { FeatureStore, type FeatureStoreOptions, type FeatureStoreStats } from './feature-store/store.js';
export { WordNet, WNID, lemmaKey, type Synset } from './wordnet.js';
export { LABEL_SENSES, checkLabelSenses, labelPhrases, type LabelSenses } from './label-phrases.js';
export { resolveData, requireData, type DataKind, type DataNeed, type ResolveOptions, type ResolvedData } from './resolve.js';
export { readFileSamples, type FileList, type FileSample } from './files/file-samples.js';
export { listImageFolder, listImages, listImageListFile, folderClassname, type ImageFolder } from './files/image-folder.js';
export { listCsvPairs, parseSeparator, CSV_DEFAULTS, type CsvColumns } from './files/csv-pairs.js';
export { writeShards, type WriteShardsOptions, type WriteShardsSummary } from './write-shards.js';
export { ShardWriter, type ShardWriterOptions } from './webdataset/writer.js';
