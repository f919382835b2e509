// The arithmetic of 8-bit linear quantization as ONNX defines it
// (QuantizeLinear: q = saturate(round_half_even(x / scale) + zero_point);
// DequantizeLinear: x = (q - zero_point) * scale): weights int8, symmetric,
// one scale per output channel; activations uint8, asymmetric, one scale and
// zero point per tensor; biases int32 at scale input_scale * weight_scale,
// the scale a fused integer kernel accumulates in.

/** uint8 activation parameters: real = (q - zeroPoint) * scale. */
export interface ActivationParams {
  scale: number;
  zeroPoint: number;
}

export interface QuantizedWeight {
  values: Int8Array;
  /** One per channel along the quantized axis. */
  scales: Float32Array;
}

/** Largest int8 magnitude used: -127..127 keeps the grid symmetric (int8's -128 has no positive twin). */
export const WEIGHT_LEVELS = 127;
const UINT8_MAX = 255;
const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** Round half to even, as QuantizeLinear does. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/**
 * Scale and zero point covering [min, max] widened to include 0, so that a
 * real zero (padding, ReLU's floor) is exactly representable.
 */
export function activationParams(min: number, max: number): ActivationParams {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error(`activation range [${min}, ${max}] is not finite: the float classifier overflows on the calibration images`);
  const lo = Math.min(0, min), hi = Math.max(0, max);
  // A tensor that is zero on every calibration image: any positive scale represents it exactly.
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / UINT8_MAX);
  return { scale, zeroPoint: clamp(roundHalfEven(-lo / scale), 0, UINT8_MAX) };
}

/** Elements per step of `axis` and its size, for channel lookups in row-major data. */
function axisLayout(dims: number[], axis: number): { channels: number; inner: number } {
  if (!Number.isInteger(axis) || axis < 0 || axis >= dims.length) throw new Error(`quantization axis ${axis} is outside a rank-${dims.length} weight`);
  return { channels: dims[axis]!, inner: dims.slice(axis + 1).reduce((a, b) => a * b, 1) };
}

/** Symmetric per-channel int8: scale_c = max|w_c| / 127, zero point 0. */
export function quantizeWeight(data: Float32Array, dims: number[], axis: number): QuantizedWeight {
  const { channels, inner } = axisLayout(dims, axis);
  const channelOf = (i: number): number => Math.floor(i / inner) % channels;
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(data[i]!));
  }
  // An all-zero channel: any positive scale represents it exactly.
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / WEIGHT_LEVELS : 1));
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = clamp(roundHalfEven(data[i]! / scales[channelOf(i)]!), -WEIGHT_LEVELS, WEIGHT_LEVELS);
  return { values, scales };
}

/** int32 bias at scale inputScale * weightScale_c (zero point 0), what QLinearConv and QGemm add to their accumulators. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  if (bias.length !== weightScales.length) throw new Error(`a bias of ${bias.length} values does not match ${weightScales.length} weight channels`);
  const scales = weightScales.map((s) => Math.fround(inputScale * s));
  const values = Int32Array.from(bias, (b, c) => clamp(roundHalfEven(b / scales[c]!), INT32_MIN, INT32_MAX));
  return { values, scales };
}
