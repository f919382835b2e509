// Neural-network engine ops -> ONNX: convolution, normalisation, linear
// layers and matmul, embedding, softmax, pooling, resizing and padding.
import type { DType, TypedArray } from '../../../engine/dtype.js';
import { normAxis } from '../batch.js';
import { float, int, ints, str, type Attr, type GraphBuilder, type Value } from '../graph.js';
import { attrNumbers, optionalAt, outSpec, tensorAt, unsupported, type Converter } from './context.js';

/** A constant [n] tensor of one value (the default scale or shift of a norm layer). */
function filled(g: GraphBuilder, hint: string, dtype: DType, shape: number[], value: number): Value {
  const n = shape.reduce((a, b) => a * b, 1);
  let data: TypedArray;
  if (dtype === 'float32') data = new Float32Array(n).fill(value);
  else if (dtype === 'float64') data = new Float64Array(n).fill(value);
  else throw new Error(`ONNX export: normalisation of ${dtype} tensors is not supported; use float32`);
  return g.addInitializer(hint, dtype, shape, data);
}

const conv2d: Converter = (call, g) => {
  const [x, w, b] = [tensorAt(call, 0), tensorAt(call, 1), optionalAt(call, 2)];
  const [ph, pw] = attrNumbers(call, 'padding');
  const attrs = {
    kernel_shape: ints(w.shape.slice(2)),
    strides: ints(attrNumbers(call, 'stride')),
    pads: ints([ph!, pw!, ph!, pw!]),
    dilations: ints(attrNumbers(call, 'dilation')),
    group: int(call.attrs.groups as number),
  };
  return [g.node('Conv', b === null ? [x, w] : [x, w, b], attrs, outSpec(call, x.batchAxis))];
};

const batchNorm: Converter = (call, g) => {
  if (call.attrs.training) throw new Error('ONNX export: batch norm ran in training mode; call model.eval() before exporting');
  const x = tensorAt(call, 0);
  const [mean, variance] = [optionalAt(call, 3), optionalAt(call, 4)];
  if (mean === null || variance === null) throw unsupported('batchNorm', 'without running statistics normalises with batch statistics, which a deployed model cannot do');
  const channels = x.shape[1]!;
  const scale = optionalAt(call, 1) ?? filled(g, 'bn_scale', x.dtype, [channels], 1);
  const shift = optionalAt(call, 2) ?? filled(g, 'bn_shift', x.dtype, [channels], 0);
  if (scale.rank !== 1 || shift.rank !== 1) throw unsupported('batchNorm', `needs [C] scale and shift, got [${scale.shape}] and [${shift.shape}]`);
  const attrs = { epsilon: float(call.attrs.eps as number) };
  return [g.node('BatchNormalization', [x, scale, shift, mean, variance], attrs, outSpec(call, x.batchAxis))];
};

const layerNorm: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const normalized = attrNumbers(call, 'normalizedShape');
  const scale = optionalAt(call, 1) ?? filled(g, 'ln_scale', x.dtype, normalized, 1);
  const shift = optionalAt(call, 2);
  const attrs = { axis: int(-normalized.length), epsilon: float(call.attrs.eps as number) };
  return [g.node('LayerNormalization', shift === null ? [x, scale] : [x, scale, shift], attrs, outSpec(call, x.batchAxis))];
};

/** Group norm as reshape to [N, G, -1], normalise the last axis, reshape back (opset 17 has no GroupNormalization). */
const groupNorm: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const groups = call.attrs.groups as number;
  const grouped = { dtype: x.dtype, shape: [x.shape[0]!, groups, -1], batchAxis: x.batchAxis };
  const xs = g.node('Reshape', [x, g.int64s([0, groups, -1])], {}, grouped); // [N, G, C/G*H*W]
  const mean = g.node('ReduceMean', [xs], { axes: ints([2]), keepdims: int(1) }, grouped);
  const centred = g.node('Sub', [xs, mean], {}, grouped);
  const variance = g.node('ReduceMean', [g.node('Mul', [centred, centred], {}, grouped)], { axes: ints([2]), keepdims: int(1) }, grouped);
  const std = g.node('Sqrt', [g.node('Add', [variance, g.scalar(call.attrs.eps as number, x.dtype)], {}, grouped)], {}, grouped);
  const normalized = g.node('Div', [centred, std], {}, grouped);
  const shapeOfX = g.node('Shape', [x], {}, { dtype: 'int64', shape: [x.rank], batchAxis: null });
  let y = g.node('Reshape', [normalized, shapeOfX], {}, outSpec(call, x.batchAxis)); // [N, C, H, W]
  const perChannel = [x.shape[1]!, ...new Array<number>(x.rank - 2).fill(1)];
  for (const [i, opType] of [[1, 'Mul'], [2, 'Add']] as const) {
    const p = optionalAt(call, i);
    if (p === null) continue;
    const shaped = g.node('Reshape', [p, g.int64s(perChannel)], {}, { dtype: p.dtype, shape: perChannel, batchAxis: null });
    y = g.node(opType, [y, shaped], {}, outSpec(call, x.batchAxis));
  }
  return [y];
};

/** The batch axis of a matmul output, from whichever operand carries one on a non-contracted axis. */
function matmulBatchAxis(a: Value, b: Value, rank: number): number | null {
  if (a.batchAxis !== null && a.rank >= 2 && a.batchAxis !== a.rank - 1) return a.batchAxis + rank - a.rank;
  if (b.batchAxis !== null && b.rank >= 2 && b.batchAxis !== b.rank - 2) {
    return b.batchAxis === b.rank - 1 ? rank - 1 : b.batchAxis + rank - b.rank;
  }
  return null;
}

const linear: Converter = (call, g) => {
  const [x, w, b] = [tensorAt(call, 0), tensorAt(call, 1), optionalAt(call, 2)];
  const axis = x.batchAxis === x.rank - 1 ? null : x.batchAxis;
  if (x.rank === 2) {
    return [g.node('Gemm', b === null ? [x, w] : [x, w, b], { transB: int(1) }, outSpec(call, axis))];
  }
  const wt = g.node('Transpose', [w], { perm: ints([1, 0]) }, { dtype: w.dtype, shape: [w.shape[1]!, w.shape[0]!], batchAxis: null });
  const y = g.node('MatMul', [x, wt], {}, outSpec(call, axis)); // [..., out]
  return [b === null ? y : g.node('Add', [y, b], {}, outSpec(call, axis))];
};

const matmul: Converter = (call, g) => {
  const [a, b] = [tensorAt(call, 0), tensorAt(call, 1)];
  return [g.node('MatMul', [a, b], {}, outSpec(call, matmulBatchAxis(a, b, call.outputs[0]!.shape.length)))];
};

const embedding: Converter = (call, g) => {
  const [weight, indices] = [tensorAt(call, 0), tensorAt(call, 1)];
  return [g.node('Gather', [weight, indices], { axis: int(0) }, outSpec(call, indices.batchAxis))];
};

const softmaxLike = (opType: string): Converter => (call, g) => {
  const x = tensorAt(call, 0);
  return [g.node(opType, [x], { axis: int(normAxis(call.attrs.dim as number, x.rank)) }, outSpec(call, x.batchAxis))];
};

const adaptiveAvgPool2d: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const [oh, ow] = attrNumbers(call, 'outputSize') as [number, number];
  if (oh === 1 && ow === 1) return [g.node('GlobalAveragePool', [x], {}, outSpec(call, x.batchAxis))];
  const [h, w] = x.shape.slice(2) as [number, number];
  if (h % oh !== 0 || w % ow !== 0) {
    throw unsupported('adaptiveAvgPool2d', `to ${oh}x${ow} from ${h}x${w} has uneven windows; only output sizes that divide the input are exportable`);
  }
  const kernel = [h / oh, w / ow];
  return [g.node('AveragePool', [x], { kernel_shape: ints(kernel), strides: ints(kernel) }, outSpec(call, x.batchAxis))];
};

const pool = (opType: string): Converter => (call, g) => {
  const x = tensorAt(call, 0);
  const [ph, pw] = attrNumbers(call, 'padding');
  const attrs = {
    kernel_shape: ints(attrNumbers(call, 'kernel')),
    strides: ints(attrNumbers(call, 'stride')),
    pads: ints([ph!, pw!, ph!, pw!]),
    // The engine counts padded zeros in the average, as PyTorch does by default.
    ...(opType === 'AveragePool' ? { count_include_pad: int(1) } : {}),
  };
  return [g.node(opType, [x], attrs, outSpec(call, x.batchAxis))];
};

const interpolate: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const size = attrNumbers(call, 'size');
  const nearest = call.attrs.mode === 'nearest';
  // Sizes [N, C, H, W] with N and C taken from the input at run time, so the batch stays dynamic.
  const shapeOfX = g.node('Shape', [x], {}, { dtype: 'int64', shape: [x.rank], batchAxis: null });
  const leading = g.node('Slice', [shapeOfX, g.int64s([0]), g.int64s([2])], {}, { dtype: 'int64', shape: [2], batchAxis: null });
  const sizes = g.node('Concat', [leading, g.int64s(size)], { axis: int(0) }, { dtype: 'int64', shape: [4], batchAxis: null });
  const attrs: Record<string, Attr> = nearest
    ? { mode: str('nearest'), coordinate_transformation_mode: str('asymmetric'), nearest_mode: str('floor') }
    : { mode: str('linear'), coordinate_transformation_mode: str(call.attrs.alignCorners ? 'align_corners' : 'pytorch_half_pixel') };
  return [g.node('Resize', [x, null, null, sizes], attrs, outSpec(call, x.batchAxis))];
};

const pad: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const padding = attrNumbers(call, 'padding');
  // The engine pads last axis first, as [before, after] pairs; ONNX wants all befores, then all afters.
  const begins = new Array<number>(x.rank).fill(0);
  const ends = new Array<number>(x.rank).fill(0);
  for (let i = 0; i < padding.length / 2; i++) {
    begins[x.rank - 1 - i] = padding[2 * i]!;
    ends[x.rank - 1 - i] = padding[2 * i + 1]!;
  }
  const a = x.batchAxis;
  const axis = a !== null && begins[a] === 0 && ends[a] === 0 ? a : null;
  const value = g.scalar(call.attrs.value as number, x.dtype);
  return [g.node('Pad', [x, g.int64s([...begins, ...ends]), value], { mode: str('constant') }, outSpec(call, axis))];
};

const crossEntropy: Converter = () => {
  throw unsupported('crossEntropy', 'is a training loss; export the model\'s forward pass without the loss');
};

export const nnConverters: Record<string, Converter> = {
  conv2d, batchNorm, layerNorm, groupNorm, linear, matmul, bmm: matmul, embedding,
  softmax: softmaxLike('Softmax'), logSoftmax: softmaxLike('LogSoftmax'),
  adaptiveAvgPool2d, avgPool2d: pool('AveragePool'), maxPool2d: pool('MaxPool'), interpolate, pad, crossEntropy,
};
