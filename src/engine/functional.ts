// Neural-network operations as functions (like torch.nn.functional).
import { native } from './native.js';
import { emit, type Tensor } from './tensor.js';

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** x [N, C, H, W], weight [O, C/groups, kH, kW] -> [N, O, H', W']. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  const stride = pair(options.stride ?? 1);
  const padding = pair(options.padding ?? 0);
  const dilation = pair(options.dilation ?? 1);
  const groups = options.groups ?? 1;
  return emit('conv2d', [x, weight, bias], { stride, padding, dilation, groups },
    native().conv2d(x.handle, weight.handle, bias?.handle ?? null, stride, padding, dilation, groups));
}

export interface BatchNormOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm over dim 1. weight/bias may be any tensors, including ones a
 * hypernetwork generated: gradients flow into them. Running statistics are
 * updated in place when training.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null,
  bias: Tensor | null, options: BatchNormOptions): Tensor {
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  return emit('batchNorm', [x, weight, bias, runningMean, runningVar], { training: options.training, momentum, eps },
    native().batchNorm(x.handle, weight?.handle ?? null, bias?.handle ?? null, runningMean?.handle ?? null,
      runningVar?.handle ?? null, options.training, momentum, eps));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return emit('layerNorm', [x, weight, bias], { normalizedShape, eps },
    native().layerNorm(x.handle, normalizedShape, weight?.handle ?? null, bias?.handle ?? null, eps));
}

export function groupNorm(x: Tensor, groups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return emit('groupNorm', [x, weight, bias], { groups, eps },
    native().groupNorm(x.handle, groups, weight?.handle ?? null, bias?.handle ?? null, eps));
}

/** x [..., in], weight [out, in] -> [..., out]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return emit('linear', [x, weight, bias], {}, native().linear(x.handle, weight.handle, bias?.handle ?? null));
}

export const matmul = (a: Tensor, b: Tensor): Tensor => a.matmul(b);

export function bmm(a: Tensor, b: Tensor): Tensor {
  return emit('bmm', [a, b], {}, native().bmm(a.handle, b.handle));
}

/** weight [V, D], indices int64 [...] -> [..., D]. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return emit('embedding', [weight, indices], {}, native().embedding(weight.handle, indices.handle));
}

export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0) return x;
  return emit('dropout', [x], { p }, native().dropout(x.handle, p, training));
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return emit('softmax', [x], { dim }, native().softmax(x.handle, dim, false));
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return emit('logSoftmax', [x], { dim }, native().softmax(x.handle, dim, true));
}

export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

/** logits [N, C], targets int64 [N]. */
export function crossEntropy(logits: Tensor, targets: Tensor, options: { labelSmoothing?: number; reduction?: Reduction } = {}): Tensor {
  const labelSmoothing = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? 'mean';
  const targetType = targets.dtype;
  if (targetType !== 'int64' && !(targetType.startsWith('float') && targets.ndim === logits.ndim)) {
    throw new Error(`crossEntropy: targets must be int64 class indices (or float probabilities shaped like the logits ` +
      `[${logits.shape}]), got ${targetType} [${targets.shape}]; convert with .to('int64')`);
  }
  return emit('crossEntropy', [logits, targets], { labelSmoothing, reduction },
    native().crossEntropy(logits.handle, targets.handle, labelSmoothing, REDUCTION[reduction]));
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number, number]): Tensor {
  const size = pair(outputSize);
  return emit('adaptiveAvgPool2d', [x], { outputSize: size }, native().adaptiveAvgPool2d(x.handle, size));
}

export function avgPool2d(x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding: number | [number, number] = 0): Tensor {
  const k = pair(kernel), s = pair(stride ?? kernel), p = pair(padding);
  return emit('avgPool2d', [x], { kernel: k, stride: s, padding: p }, native().avgPool2d(x.handle, k, s, p));
}

export function maxPool2d(x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding: number | [number, number] = 0): Tensor {
  const k = pair(kernel), s = pair(stride ?? kernel), p = pair(padding);
  return emit('maxPool2d', [x], { kernel: k, stride: s, padding: p }, native().maxPool2d(x.handle, k, s, p));
}

export function interpolate(x: Tensor, size: [number, number], mode: 'nearest' | 'bilinear' = 'bilinear', alignCorners = false): Tensor {
  return emit('interpolate', [x], { size, mode, alignCorners },
    native().interpolate(x.handle, size, mode === 'nearest' ? 0 : 1, alignCorners));
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: needs at least one tensor');
  return emit('cat', tensors, { dim }, native().cat(tensors.map((t) => t.handle), dim));
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  return emit('stack', tensors, { dim }, native().stack(tensors.map((t) => t.handle), dim));
}

/** cond ? a : b, elementwise with broadcasting. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const h = (v: Tensor | number) => (typeof v === 'number' ? v : v.handle);
  return emit('where', [cond, a, b], {}, native().where(cond.handle, h(a), h(b)));
}

/** base + a * b with broadcasting, in one pass over the output (x * scale + shift without the intermediate). */
export function addcmul(base: Tensor, a: Tensor, b: Tensor): Tensor {
  return emit('addcmul', [base, a, b], {}, native().addcmul(base.handle, a.handle, b.handle));
}

/** Bounds of a clamp; an absent one does not bound. */
export interface ClampBounds {
  min?: number;
  max?: number;
}

/**
 * clamp(x * scale + shift, min, max) per channel of x [N, C, ...], with scale
 * and shift [C], [1, C] or [N, C] (a row per sample). One pass forward and
 * one backward, where addcmul then a clamp make four: the gradients of x,
 * scale and shift come from one pass over the output's gradient. The clamp's
 * gradient is hardtanh's (none where the output sits at a bound), so
 * { min: 0 } is relu and { min: 0, max: 6 } relu6 after the affine.
 */
export function channelAffine(x: Tensor, scale: Tensor, shift: Tensor, bounds: ClampBounds = {}): Tensor {
  const { min = null, max = null } = bounds;
  return emit('channelAffine', [x, scale, shift], { min, max }, native().channelAffine(x.handle, scale.handle, shift.handle, min, max));
}

export function pad(x: Tensor, padding: number[], value = 0): Tensor {
  return emit('pad', [x], { padding, value }, native().pad(x.handle, padding, value));
}

/** L2-normalises along dim. */
export function normalize(x: Tensor, dim = -1, eps = 1e-12): Tensor {
  const n = x.norm(2, dim, true);
  const safe = n.clamp(eps);
  const out = x.div(safe);
  n.dispose();
  safe.dispose();
  return out;
}

export const relu6 = (x: Tensor): Tensor => x.unary('relu6');
export const hardswish = (x: Tensor): Tensor => x.unary('hardswish');
export const hardsigmoid = (x: Tensor): Tensor => x.unary('hardsigmoid');
export const softplus = (x: Tensor): Tensor => x.unary('softplus');
export const logSigmoid = (x: Tensor): Tensor => x.unary('logSigmoid');
