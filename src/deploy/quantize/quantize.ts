// A float classifier in, its static int8 twin out: zero padding folded into
// the convolutions, the quantization planned from the graph, activation
// ranges (and the convolutions' input means) calibrated on the user's
// images, the biases corrected for the weights' rounding, the QDQ graph
// written, and the file's metadata saying how it was made. The classifier
// metadata is kept, so every loader (classify, the Node and browser API)
// reads it unchanged.
import { onnx, type ModelProto } from '../onnx/proto.js';
import type { OpenRunner } from '../runtime/session.js';
import { correctable, correctBiases } from './bias-correction.js';
import { calibrateRanges } from './calibrate.js';
import { foldPadsIntoConvs } from './fold-pad.js';
import { activationParams, type ActivationParams } from './params.js';
import { planQuantization } from './plan.js';
import { writeQdq } from './qdq.js';

export const QUANTIZATION_METADATA_KEY = 'hyperclip.quantization';

export interface QuantizeOptions {
  /** Normalised NCHW calibration pixels at the classifier's input size, [n, 3, H, W] row-major. */
  images: Float32Array;
  /** Says where the images came from, for the record ("200 images of photos/"). */
  calibration: string;
  open: OpenRunner;
  /** Take the mean output shift of each convolution's int8 weights out of its bias (default true; bias-correction.ts). */
  biasCorrection?: boolean;
  /** 'stem' (default): the layers that read the image stay float; 'none': every Conv, Gemm and MatMul is quantized (plan.ts). */
  floatLayers?: FloatLayers;
  onProgress?: (done: number, total: number) => void;
}

export type FloatLayers = 'stem' | 'none';
export const FLOAT_LAYERS: readonly FloatLayers[] = ['stem', 'none'];

export interface QuantizationRecord {
  format: 'QDQ';
  weights: 'int8, symmetric, per output channel';
  activations: 'uint8, asymmetric, per tensor';
  calibration: { method: 'min/max'; source: string; images: number };
  /** Convolutions whose bias was corrected for their weights' rounding (0 without bias correction). */
  biasCorrected: number;
  floatLayers: FloatLayers;
  /** Conv, Gemm and MatMul nodes with int8 weights. */
  quantizedNodes: number;
  /** Conv, Gemm and MatMul nodes with constant weights left float (the stem with floatLayers 'stem'). */
  floatNodes: number;
  /** Activation tensors with a QuantizeLinear/DequantizeLinear pair. */
  quantizedActivations: number;
}

const ALREADY_QUANTIZED = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger']);

export async function quantizeClassifier(floatBytes: Uint8Array, options: QuantizeOptions): Promise<{ bytes: Uint8Array; record: QuantizationRecord }> {
  const model = onnx.ModelProto.decode(floatBytes);
  if ((model.graph?.node ?? []).some((n) => ALREADY_QUANTIZED.has(n.opType!))) {
    throw new Error('this classifier is already quantized: quantize the float32 classifier instead');
  }
  const floatLayers = options.floatLayers ?? 'stem';
  if (!FLOAT_LAYERS.includes(floatLayers)) throw new Error(`floatLayers is ${String(floatLayers)}: use ${FLOAT_LAYERS.join(' or ')}`);
  foldPadsIntoConvs(model);
  const plan = planQuantization(model, { floatStem: floatLayers === 'stem' });
  if (plan.weighted.length === 0) {
    throw new Error(plan.floatNodes.length > 0
      ? 'the classifier\'s only Conv, Gemm or MatMul layers read the image, which floatLayers \'stem\' keeps float: quantize them with floatLayers \'none\''
      : 'the classifier has no Conv, Gemm or MatMul with constant weights to quantize');
  }
  const owners = plan.activations.filter((t) => !plan.sharedWith.has(t));
  const corrected = (options.biasCorrection ?? true) ? correctable(plan.weighted) : [];
  const { ranges, means, images } = await calibrateRanges(model, owners, {
    images: options.images, open: options.open, means: [...new Set(corrected.map((w) => w.input))], onProgress: options.onProgress,
  });
  correctBiases(model, corrected, means);
  const params = new Map<string, ActivationParams>();
  for (const [tensor, range] of ranges) {
    try {
      params.set(tensor, activationParams(range.min, range.max));
    } catch (err) {
      throw new Error(`calibrating ${tensor}: ${(err as Error).message}`);
    }
  }
  for (const [tensor, owner] of plan.sharedWith) params.set(tensor, params.get(owner)!);
  writeQdq(model, plan, params);
  const record: QuantizationRecord = {
    format: 'QDQ', weights: 'int8, symmetric, per output channel', activations: 'uint8, asymmetric, per tensor',
    calibration: { method: 'min/max', source: options.calibration, images }, biasCorrected: corrected.length, floatLayers,
    quantizedNodes: plan.weighted.length, floatNodes: plan.floatNodes.length, quantizedActivations: plan.activations.length,
  };
  setMetadata(model, QUANTIZATION_METADATA_KEY, JSON.stringify(record));
  model.docString = `${model.docString ?? ''}${model.docString ? '; ' : ''}int8 QDQ, calibrated on ${options.calibration}`;
  return { bytes: onnx.ModelProto.encode(model).finish(), record };
}

function setMetadata(model: ModelProto, key: string, value: string): void {
  model.metadataProps = [...(model.metadataProps ?? []).filter((p) => p.key !== key), { key, value }];
}
