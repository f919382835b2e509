// The face every image encoder shows to the rest of the models, and the
// factory that builds one from its config.
import type { Module, Tensor } from '../../engine/index.js';
import type { ImageEncoderConfig } from '../config.js';
import type { NormLayerInfo, NormOverrides } from './blocks.js';
import { EfficientNet } from './efficientnet.js';
import { MobileNetV1, MobileNetV2 } from './mobilenet.js';
import { MobileNetV3 } from './mobilenetv3.js';
import { ResNet } from './resnet.js';

export interface ImageEncoder extends Module {
  /** Size of the pooled features that forward() returns. */
  readonly featureDim: number;
  /** Every batch-norm layer in forward order, by name, with its channels and stage. */
  normLayers(): NormLayerInfo[];
  /**
   * images [N, 3, H, W] -> features [N, featureDim]. normOverrides replaces
   * the scale and bias of the named norm layers with [N, C] (or [1, C])
   * tensors; batch statistics still span the whole batch.
   */
  forward(images: Tensor, normOverrides?: NormOverrides): Tensor;
  /** Number of residual blocks: the points where forwardPrefix / forwardFrom can split the network. */
  readonly blocks: readonly unknown[];
  /** images -> the output of the first `blocks` blocks, [N, C, h, w]. */
  forwardPrefix(images: Tensor, blocks: number, normOverrides?: NormOverrides): Tensor;
  /** forwardPrefix's output -> features [N, featureDim]: forwardFrom(forwardPrefix(x, b), b) equals forward(x). */
  forwardFrom(x: Tensor, block: number, normOverrides?: NormOverrides): Tensor;
  /** forwardPrefix(images, from)'s output -> forwardPrefix(images, to)'s: blocks from..to-1 alone. */
  forwardBlocks(x: Tensor, from: number, to: number, normOverrides?: NormOverrides): Tensor;
}

export function createImageEncoder(config: ImageEncoderConfig): ImageEncoder {
  switch (config.family) {
    case 'efficientnet': return new EfficientNet(config, config.channelsLast);
    case 'mobilenetv3': return new MobileNetV3(config, config.channelsLast);
    case 'resnet': return new ResNet(config, config.channelsLast);
    case 'mobilenetv1': return new MobileNetV1(config, config.channelsLast);
    case 'mobilenetv2': return new MobileNetV2(config, config.channelsLast);
  }
}
