// The models library: what src/train, src/eval and src/deploy import.
export * from './config.js';
export { HyperClip, type NormParams, type ZeroShotClassifier } from './hyperclip.js';
export { Hypernetwork, selectNormLayers, type NormDelta } from './hypernet.js';
export { siglipLoss, clipLoss, sameGroupMask, samePositives } from './losses.js';
export { saveModel, loadModel, type SavedModel } from './io.js';
export { MODEL_FILES, DEPLOYED_FILES, type ModelFileRole } from './folder-layout.js';
export { createImageEncoder, type ImageEncoder } from './image/encoder.js';
export { EfficientNet } from './image/efficientnet.js';
export { MobileNetV3 } from './image/mobilenetv3.js';
export { ResNet, BasicBlock } from './image/resnet.js';
export { ConvNormAct, MBConv, SqueezeExcite, type NormLayerInfo, type NormOverride, type NormOverrides } from './image/blocks.js';
export { TextEncoder } from './text/text-encoder.js';
export { initTokenEmbeddingFromPrior, type WordPrior } from './text/word-prior.js';
export { Transformer, TransformerBlock, MultiHeadAttention, causalMask } from './transformer.js';
