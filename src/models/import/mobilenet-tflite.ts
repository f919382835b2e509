// ImageNet-pretrained MobileNets from TensorFlow Lite files into our modules.
// The file's convolutions, in execution order, map one to one onto the
// encoder's ConvNormAct layers in forward order, followed by the 1x1
// classifier conv. Each weight is dequantized; a conv's folded batch-norm
// shift (its int32 bias) becomes the norm's shift, the norm's scale starts at
// 1, so the imported encoder computes exactly the file's float graph and the
// hypernetwork has a scale and shift per channel to generate.
import { noGrad, tensor, type Tensor } from '../../engine/index.js';
import { resolveConfig, type ImageEncoderConfig } from '../config.js';
import { ConvNormAct, type Activation } from '../image/blocks.js';
import { createImageEncoder } from '../image/encoder.js';
import { LabelClassifier } from '../label-classifier.js';
import { dequantize, readTflite, type TfliteModel, type TfliteOperator, type TfliteTensor } from './tflite.js';

/** The ImageNet-1k classes; the files' logit 0 is "background" and is dropped. */
export const IMAGENET_CLASSES = 1000;

export interface ImportedMobileNet {
  image: ImageEncoderConfig;
  /** The encoder with its ImageNet head (logits over the 1000 classes), in eval mode. */
  classifier: LabelClassifier;
}

type ConvOp = Extract<TfliteOperator, { opcode: 'CONV_2D' | 'DEPTHWISE_CONV_2D' }>;

const WIDTHS = [0.25, 0.35, 0.5, 0.75, 1, 1.3, 1.4];

/** Reads a MobileNet v1 or v2 .tflite file into an encoder and head; `source` names the file in errors. */
export function importMobileNet(bytes: Uint8Array, source: string): ImportedMobileNet {
  const file = readTflite(bytes, source);
  const convs = file.operators.filter((op): op is ConvOp => op.opcode === 'CONV_2D' || op.opcode === 'DEPTHWISE_CONV_2D');
  if (convs.length < 3) throw new Error(`${source}: ${convs.length} convolutions: not a MobileNet`);
  const input = file.tensors[file.inputs[0]!]!;
  if (input.shape.length !== 4 || input.shape[3] !== 3 || input.shape[1] !== input.shape[2]) {
    throw new Error(`${source}: input is [${input.shape}], expected a square RGB image [1, S, S, 3]`);
  }
  checkInputRange(input, source);
  const family = file.operators.some((op) => op.opcode === 'ADD') ? 'mobilenetv2' : 'mobilenetv1';
  const stemChannels = tensorOf(file, convs[0]!, 1, source).shape[0]!;
  const image = findConfig(family, input.shape[1]!, stemChannels, convs.length - 1, source);
  const encoder = createImageEncoder(image);
  const classifierConv = convs[convs.length - 1]!;
  const classifier = new LabelClassifier(encoder, IMAGENET_CLASSES);
  const layers = [...encoder.namedModules()].filter((entry): entry is [string, ConvNormAct] => entry[1] instanceof ConvNormAct);
  noGrad(() => {
    layers.forEach(([name, layer], i) => loadConv(file, convs[i]!, name, layer, source));
    loadHead(file, classifierConv, classifier, source);
  });
  classifier.eval();
  return { image, classifier };
}

/** The input must be uint8 pixel / 128 - 1, which the encoders' input adapter assumes. */
function checkInputRange(input: TfliteTensor, source: string): void {
  const q = input.quantization;
  if (input.type === 'uint8' && q !== null && Math.abs(q.scale[0]! - 1 / 128) < 1e-6 && q.zeroPoint[0] === 128) return;
  throw new Error(`${source}: the input is ${input.type} with scale ${q?.scale[0]} and zero point ${q?.zeroPoint[0]}; `
    + 'the importer reads networks whose input is pixel / 128 - 1 (uint8, scale 1/128, zero point 128)');
}

/** The width whose layer count and stem width the file has. */
function findConfig(family: 'mobilenetv1' | 'mobilenetv2', imageSize: number, stemChannels: number, convs: number, source: string): ImageEncoderConfig {
  for (const widthMultiplier of WIDTHS) {
    const image = resolveConfig({ image: { family, widthMultiplier, imageSize, channelsLast: true } }).image;
    const encoder = createImageEncoder(image);
    try {
      const layers = [...encoder.namedModules()].filter(([, m]) => m instanceof ConvNormAct) as [string, ConvNormAct][];
      if (layers.length === convs && layers[0]![1].conv.outChannels === stemChannels) return image;
    } finally {
      encoder.dispose();
    }
  }
  throw new Error(`${source}: a ${family} with a ${stemChannels}-channel stem and ${convs} convolutions matches none of the widths ${WIDTHS.join(', ')}`);
}

function tensorOf(file: TfliteModel, op: TfliteOperator, input: number, source: string): TfliteTensor {
  const t = file.tensors[op.inputs[input] ?? -1];
  if (t === undefined) throw new Error(`${source}: ${op.opcode} has no input ${input}`);
  if (t.data === null) throw new Error(`${source}: ${op.opcode}'s ${input === 1 ? 'filter' : 'bias'} ${t.name} holds no constant data`);
  return t;
}

const ACTIVATIONS: Partial<Record<Activation, string>> = { relu6: 'RELU6', relu: 'RELU', none: 'NONE' };

function loadConv(file: TfliteModel, op: ConvOp, name: string, layer: ConvNormAct, source: string): void {
  const where = `${source}: ${op.opcode} for ${name}`;
  const depthwise = layer.conv.groups > 1;
  if (depthwise !== (op.opcode === 'DEPTHWISE_CONV_2D')) throw new Error(`${where}: the file's op order does not match a ${depthwise ? 'depthwise' : 'dense'} layer`);
  const o = op.options;
  if (o.strideH !== layer.conv.stride || o.strideW !== layer.conv.stride) throw new Error(`${where}: stride ${o.strideH}x${o.strideW}, the layer has ${layer.conv.stride}`);
  if (o.padding !== 'SAME' || o.dilationH !== 1 || o.dilationW !== 1) throw new Error(`${where}: only SAME padding without dilation is supported`);
  if (ACTIVATIONS[layer.act] !== o.activation) throw new Error(`${where}: fused activation ${o.activation}, the layer applies ${layer.act}`);
  const filter = tensorOf(file, op, 1, source);
  const [out, kh, kw, inner] = filter.shape as [number, number, number, number];
  const want = layer.conv.weight.shape; // [O, I/groups, k, k]
  // TFLite filters are [O, kh, kw, I], depthwise [1, kh, kw, C]: both become [O, I/groups, kh, kw].
  const shape = depthwise ? [inner, 1, kh, kw] : [out, inner, kh, kw];
  if (shape.join() !== want.join()) throw new Error(`${where}: filter [${filter.shape}] does not fit the layer's [${want}]`);
  const nhwc = tensor(dequantize(filter), depthwise ? [kh, kw, inner] : [out, kh, kw, inner]);
  const weight = depthwise ? nhwc.permute([2, 0, 1]).unsqueeze(1) : nhwc.permute([0, 3, 1, 2]);
  layer.conv.weight.copy_(weight);
  const bias = biasOf(file, op, out === 1 && depthwise ? inner : out, source);
  layer.norm.weight.copy_(tensor(new Float32Array(bias.length).fill(1), [bias.length]));
  layer.norm.bias.copy_(tensor(bias, [bias.length]));
  for (const t of [nhwc, weight]) t.dispose();
}

function biasOf(file: TfliteModel, op: TfliteOperator, channels: number, source: string): Float32Array {
  if ((op.inputs[2] ?? -1) < 0) return new Float32Array(channels);
  const bias = dequantize(tensorOf(file, op, 2, source));
  if (bias.length !== channels) throw new Error(`${source}: a bias of ${bias.length} values for ${channels} channels`);
  return bias;
}

/** The 1x1 classifier conv over the pooled features: 1001 logits, of which logit 0 (background) is dropped. */
function loadHead(file: TfliteModel, op: ConvOp, classifier: LabelClassifier, source: string): void {
  const filter = tensorOf(file, op, 1, source);
  const [out, kh, kw, features] = filter.shape as [number, number, number, number];
  if (op.opcode !== 'CONV_2D' || kh !== 1 || kw !== 1 || out !== IMAGENET_CLASSES + 1 || features !== classifier.imageEncoder.featureDim) {
    throw new Error(`${source}: the last convolution is ${op.opcode} [${filter.shape}], expected a 1x1 classifier of ${IMAGENET_CLASSES + 1} logits over ${classifier.imageEncoder.featureDim} features`);
  }
  const weight: Tensor = tensor(dequantize(filter), [out, features]);
  const bias = tensor(biasOf(file, op, out, source), [out]);
  const w = weight.narrow(0, 1, IMAGENET_CLASSES);
  const b = bias.narrow(0, 1, IMAGENET_CLASSES);
  classifier.head.weight.copy_(w);
  classifier.head.bias!.copy_(b);
  for (const t of [weight, bias, w, b]) t.dispose();
}
