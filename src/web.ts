// The package's browser entry (`import { loadModel } from 'hyperclip/web'`):
// no Node module, no libtorch, no runtime package; the page passes its
// onnxruntime-web module in.

// The stable API.
export { loadModel, loadClassifier, WebModel, WebClassifier, webRunner, decodeWebImage, type WebImageInput, type WebRuntime, type WebGeneratedFile } from './api/web.js';
export { decodeImageBlob, fromImageData } from './api/web-image.js';
export { ImageClassifier, type ClassifyOptions, type TensorOptions, type LabelScore, type RawImage, type ClassifierMetadata } from './api/classifier.js';

// The building blocks below it.
export { generateOnRuntime, type PromptTokenizer, type RuntimeGenerateOptions, type RuntimeGenerated } from './deploy/runtime/generate.js';
export { runnerFactory, type OrtLike } from './deploy/runtime/ort-adapter.js';
export type { OpenRunner, InferenceRunner, FeedTensor, ResultTensor } from './deploy/runtime/session.js';
export { parseClassifierMetadata, type ClassifierOutput } from './deploy/metadata.js';
export { MODEL_FILES, DEPLOYED_FILES } from './models/folder-layout.js';
export { readOnnxInfo } from './deploy/onnx/read.js';
export { BpeTokenizer } from './data/tokenizer/bpe-tokenizer.js';
export type { TokenizerFile } from './data/tokenizer/tokenizer-format.js';
export { evalPreprocess, cropResizeNormalize, chooseAugmentation, CLIP_MEAN, CLIP_STD, type PreprocessSpec } from './data/preprocess.js';
export { checkClassnames, checkTemplates, CheckedClassNames } from './eval/prompt-lists.js';
