// Batch-norm folding: an eval-mode batch norm after a convolution is an
// affine map per output channel, so it can live inside the convolution's
// weight and bias. The core works on plain Float32Arrays, so that generation
// on onnxruntime alone (no libtorch) can fold too; foldBatchNorm is the same
// on engine tensors.
import { tensor, type Tensor } from '../engine/tensor.js';

export interface ConvParams {
  /** [O, I/groups, kH, kW], row-major. */
  weight: Float32Array;
  /** [O], or null for a convolution without bias. */
  bias: Float32Array | null;
  outChannels: number;
}

export interface NormParamsArrays {
  runningMean: Float32Array; // [O]
  runningVar: Float32Array; // [O]
  eps: number;
  scale: Float32Array; // [O]
  shift: Float32Array; // [O]
}

/**
 * conv(x) followed by (y - mean) / sqrt(var + eps) * scale + shift, as one
 * convolution: W' = W * f, b' = (b - mean) * f + shift with f = scale / sqrt(var + eps),
 * computed in double precision.
 */
export function foldConvNorm(conv: ConvParams, norm: NormParamsArrays): { weight: Float32Array; bias: Float32Array } {
  const o = conv.outChannels;
  for (const [name, a] of Object.entries({ runningMean: norm.runningMean, runningVar: norm.runningVar, scale: norm.scale, shift: norm.shift })) {
    if (a.length !== o) throw new Error(`fold: ${name} has ${a.length} values but the convolution has ${o} output channels`);
  }
  if (conv.weight.length % o !== 0) throw new Error(`fold: a weight of ${conv.weight.length} values cannot have ${o} output channels`);
  if (conv.bias !== null && conv.bias.length !== o) throw new Error(`fold: bias has ${conv.bias.length} values, expected ${o}`);
  const perChannel = conv.weight.length / o;
  const weight = new Float32Array(conv.weight.length);
  const bias = new Float32Array(o);
  for (let c = 0; c < o; c++) {
    const factor = norm.scale[c]! / Math.sqrt(norm.runningVar[c]! + norm.eps);
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) weight[i] = conv.weight[i]! * factor;
    bias[c] = ((conv.bias?.[c] ?? 0) - norm.runningMean[c]!) * factor + norm.shift[c]!;
  }
  return { weight, bias };
}

export interface BatchNormState {
  runningMean: Tensor;
  runningVar: Tensor;
  eps: number;
}

const floats = (t: Tensor, what: string): Float32Array => {
  if (t.dtype !== 'float32') throw new Error(`fold: ${what} must be float32, got ${t.dtype}`);
  return t.data() as Float32Array;
};

/**
 * Engine-tensor face of foldConvNorm. scale and shift are the norm's own
 * weight and bias or generated ones, [C] or [1, C]; returns a new weight of
 * the convolution's shape and a bias [O] (contiguous layout).
 */
export function foldBatchNorm(conv: { weight: Tensor; bias: Tensor | null }, norm: BatchNormState, scale: Tensor, shift: Tensor): { weight: Tensor; bias: Tensor } {
  for (const [what, t] of [['scale', scale], ['shift', shift]] as const) {
    if (t.ndim > 2 || (t.ndim === 2 && t.size(0) !== 1)) {
      throw new Error(`fold: ${what} must be [C] or [1, C] (one task), got [${t.shape}]; fold each task separately`);
    }
  }
  const dense = conv.weight.contiguous(); // row-major, whatever layout the weight has
  const weight = floats(dense, 'conv weight');
  dense.dispose();
  const folded = foldConvNorm(
    { weight, bias: conv.bias === null ? null : floats(conv.bias, 'conv bias'), outChannels: conv.weight.size(0) },
    { runningMean: floats(norm.runningMean, 'running mean'), runningVar: floats(norm.runningVar, 'running var'), eps: norm.eps, scale: floats(scale, 'scale'), shift: floats(shift, 'shift') },
  );
  return { weight: tensor(folded.weight, conv.weight.shape), bias: tensor(folded.bias, [folded.bias.length]) };
}
