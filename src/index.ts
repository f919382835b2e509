// The package's Node entry (`import * as hyperclip from 'hyperclip'`).
// Importing it loads no libtorch: generation (onnx engine) and classification
// run on onnxruntime-node; evaluate, train and the libtorch engine load the
// addon on first use and, where it is not built, fail with one line that
// says how to build it.

// The stable API.
export { generate, loadModel, HyperclipModel, type Engine, type GenerateOptions, type GeneratedFile } from './api/model.js';
export { loadClassifier, NodeClassifier, type ImageInput } from './api/node-classifier.js';
export { ImageClassifier, type ClassifyOptions, type TensorOptions, type LabelScore, type RawImage, type ClassifierMetadata } from './api/classifier.js';
export { evaluate, train, type EvaluateOptions, type TrainRunOptions, type ZeroShotResult, type TrainConfig, type TrainReporter, type TrainSummary } from './api/training.js';

// The building blocks below it, for those who need more control.
export { loadBundle, saveBundle, defaultModelDir, readCard, type Bundle } from './bundle/bundle.js';
export { generateClassifier } from './deploy/generate.js';
export { exportGenerator, exportConditionedEncoder } from './deploy/export-models.js';
export { writeDeployFiles, hasDeployFiles } from './deploy/deploy-files.js';
export { readOnnxModelFiles, generateFromFiles, type OnnxModelFiles } from './deploy/generate-folder.js';
export { generateOnRuntime, type PromptTokenizer } from './deploy/runtime/generate.js';
export { parseClassifierMetadata, classifierMetadataProps, type ClassifierOutput } from './deploy/metadata.js';
export { MODEL_FILES, DEPLOYED_FILES } from './models/folder-layout.js';
export { readOnnxInfo } from './deploy/onnx/read.js';
export { quantizeClassifier, QUANTIZATION_METADATA_KEY, FLOAT_LAYERS, type FloatLayers, type QuantizeOptions, type QuantizationRecord } from './deploy/quantize/quantize.js';
export { readCalibrationSet, type CalibrationSet } from './deploy/quantize/calibration-images.js';
export { evaluateZeroShot, type ZeroShotOptions } from './eval/zeroshot.js';
export { evaluateRetrieval, type RetrievalOptions, type RetrievalResult } from './eval/retrieval.js';
export { resolveTemplates, readClassnames, checkClassnames, checkTemplates, CheckedClassNames } from './eval/templates.js';
export { RECIPES, listRecipes, resolveTrainConfig } from './train/recipes.js';
export { Tokenizer, BpeTokenizer } from './data/tokenizer/index.js';
export { evalPreprocess, cropResizeNormalize, chooseAugmentation, CLIP_MEAN, CLIP_STD, type PreprocessSpec } from './data/preprocess.js';
export { decodeImage } from './data/images.js';
export { DATASETS, dataRoot, resolveDataset } from './data/datasets.js';
export { resolveData, type ResolvedData, type ResolveOptions, type DataNeed } from './data/resolve.js';
export type { CsvColumns } from './data/files/csv-pairs.js';
export { writeShards, type WriteShardsOptions, type WriteShardsSummary } from './data/write-shards.js';
export { HyperClip, resolveConfig, type ModelConfig } from './models/index.js';
export { addonBuilt } from './engine/runtime.js';
export * as engine from './engine/index.js';

// The companions: few-shot with descriptions (SLR-AVD), pruning (Wanda,
// magnitude), structured compression (AdaSAP) and the corruption benchmark.
export { runFewShot, type FewShotTask, type FewShotOutcome } from './fewshot/run.js';
export { pruneBundle, savePrunedBundle, readCalibration, PRUNE_PARTS, type PrunePart, type PruneRecord } from './compress/prune-bundle.js';
export { compress, type CompressSummary, type CompressReporter } from './compress/adasap.js';
export { evaluateCorruptions, type CorruptionOptions, type CorruptionResult } from './eval/corruptions/evaluate.js';
