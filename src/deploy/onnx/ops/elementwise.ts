// Elementwise engine ops -> ONNX: unary activations, binary arithmetic and
// comparisons (numbers become scalar constants of the right dtype), where,
// maskedFill, clamp, dtype casts, and the ops that export as no node at all.
import type { DType } from '../../../engine/dtype.js';
import { broadcastBatchAxis } from '../batch.js';
import { float, int, type GraphBuilder, type Value } from '../graph.js';
import { onnxElementType } from '../proto.js';
import { isFloat, outSpec, tensorAt, unsupported, type Converter, type OpCall } from './context.js';

/** x as dtype (a Cast node unless it already is). */
export function castTo(g: GraphBuilder, x: Value, dtype: DType): Value {
  if (x.dtype === dtype) return x;
  return g.node('Cast', [x], { to: int(onnxElementType(dtype)) }, { dtype, shape: x.shape, batchAxis: x.batchAxis });
}

const same = (x: Value) => ({ dtype: x.dtype, shape: x.shape, batchAxis: x.batchAxis });

type UnaryEmitter = (g: GraphBuilder, x: Value) => Value;

const simple = (opType: string): UnaryEmitter => (g, x) => g.node(opType, [x], {}, same(x));

const UNARY: Record<string, UnaryEmitter> = {
  neg: simple('Neg'), exp: simple('Exp'), log: simple('Log'), sqrt: simple('Sqrt'), abs: simple('Abs'),
  sin: simple('Sin'), cos: simple('Cos'), relu: simple('Relu'), sigmoid: simple('Sigmoid'), tanh: simple('Tanh'),
  hardswish: simple('HardSwish'), softplus: simple('Softplus'), sign: simple('Sign'), floor: simple('Floor'),
  ceil: simple('Ceil'), round: simple('Round'), reciprocal: simple('Reciprocal'), erf: simple('Erf'),
  logicalNot: (g, x) => g.node('Not', [castTo(g, x, 'bool')], {}, { ...same(x), dtype: 'bool' }),
  rsqrt: (g, x) => g.node('Reciprocal', [g.node('Sqrt', [x], {}, same(x))], {}, same(x)),
  square: (g, x) => g.node('Mul', [x, x], {}, same(x)),
  relu6: (g, x) => g.node('Clip', [x, g.scalar(0, x.dtype), g.scalar(6, x.dtype)], {}, same(x)),
  hardsigmoid: (g, x) => g.node('HardSigmoid', [x], { alpha: float(1 / 6), beta: float(0.5) }, same(x)),
  silu: (g, x) => g.node('Mul', [x, g.node('Sigmoid', [x], {}, same(x))], {}, same(x)),
  logSigmoid: (g, x) => g.node('Neg', [g.node('Softplus', [g.node('Neg', [x], {}, same(x))], {}, same(x))], {}, same(x)),
  log1p: (g, x) => g.node('Log', [g.node('Add', [x, g.scalar(1, x.dtype)], {}, same(x))], {}, same(x)),
  expm1: (g, x) => g.node('Sub', [g.node('Exp', [x], {}, same(x)), g.scalar(1, x.dtype)], {}, same(x)),
  gelu: (g, x) => {
    // 0.5 * x * (1 + erf(x / sqrt(2))), the exact form the engine computes.
    const erf = g.node('Erf', [g.node('Mul', [x, g.scalar(Math.SQRT1_2, x.dtype)], {}, same(x))], {}, same(x));
    const onePlus = g.node('Add', [erf, g.scalar(1, x.dtype)], {}, same(x));
    return g.node('Mul', [g.node('Mul', [x, g.scalar(0.5, x.dtype)], {}, same(x)), onePlus], {}, same(x));
  },
  geluTanh: (g, x) => {
    // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    const cube = g.node('Mul', [g.node('Mul', [x, x], {}, same(x)), x], {}, same(x));
    const inner = g.node('Add', [x, g.node('Mul', [cube, g.scalar(0.044715, x.dtype)], {}, same(x))], {}, same(x));
    const t = g.node('Tanh', [g.node('Mul', [inner, g.scalar(Math.sqrt(2 / Math.PI), x.dtype)], {}, same(x))], {}, same(x));
    const onePlus = g.node('Add', [t, g.scalar(1, x.dtype)], {}, same(x));
    return g.node('Mul', [g.node('Mul', [x, g.scalar(0.5, x.dtype)], {}, same(x)), onePlus], {}, same(x));
  },
};

const unary = (op: string): Converter => (call, g) => {
  const outDtype = call.outputs[0]!.dtype;
  // Integer inputs to float functions (sqrt of int64) are promoted first, as the engine does.
  const x = isFloat(outDtype) ? castTo(g, tensorAt(call, 0), outDtype) : tensorAt(call, 0);
  return [castTo(g, UNARY[op]!(g, x), outDtype)];
};

const ARITHMETIC: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min' };
const COMPARISON: Record<string, string> = { eq: 'Equal', lt: 'Less', le: 'LessOrEqual', gt: 'Greater', ge: 'GreaterOrEqual' };

/** Resolves a binary op's operands as values of one dtype (numbers become scalar constants). */
function operands(g: GraphBuilder, call: OpCall, dtype: DType): Value[] {
  return call.inputs.slice(0, 2).map((v) => {
    if (typeof v === 'number') return g.scalar(v, dtype);
    if (v === null) throw unsupported(call.op, 'got no tensor operand');
    return castTo(g, v, dtype);
  });
}

/** The dtype both sides of a comparison are converted to, following the engine's promotion. */
function comparisonDtype(call: OpCall): DType {
  const tensors = call.inputs.filter((v): v is Value => v !== null && typeof v !== 'number');
  const floats = tensors.filter((v) => isFloat(v.dtype));
  if (floats.length > 0) return floats[0]!.dtype;
  const hasFraction = call.inputs.some((v) => typeof v === 'number' && !Number.isInteger(v));
  if (hasFraction) return 'float32';
  const dtypes = new Set(tensors.map((v) => v.dtype));
  if (dtypes.size === 1) {
    const only = tensors[0]!.dtype;
    return only === 'bool' && call.op !== 'eq' && call.op !== 'ne' ? 'int32' : only;
  }
  return 'int64';
}

const binary: Converter = (call, g) => {
  const out = call.outputs[0]!;
  let xs: Value[];
  let y: Value;
  const spec = (dtype: DType, values: Value[]) => ({ dtype, shape: out.shape, batchAxis: broadcastBatchAxis(g, call.op, values, out.shape) });
  if (call.op in ARITHMETIC) {
    xs = operands(g, call, out.dtype);
    y = g.node(ARITHMETIC[call.op]!, xs, {}, spec(out.dtype, xs));
  } else if (call.op in COMPARISON || call.op === 'ne') {
    xs = operands(g, call, comparisonDtype(call));
    const eq = g.node(COMPARISON[call.op] ?? 'Equal', xs, {}, spec('bool', xs));
    y = call.op === 'ne' ? g.node('Not', [eq], {}, spec('bool', xs)) : eq;
  } else if (call.op === 'logicalAnd' || call.op === 'logicalOr') {
    xs = operands(g, call, 'bool');
    y = g.node(call.op === 'logicalAnd' ? 'And' : 'Or', xs, {}, spec('bool', xs));
  } else if (call.op === 'remainder') {
    xs = operands(g, call, out.dtype);
    y = remainder(g, xs, spec(out.dtype, xs));
  } else {
    throw unsupported(call.op, 'is not a known binary op');
  }
  return [castTo(g, y, out.dtype)];
};

/** The engine's remainder takes the divisor's sign (Python %): Mod for integers, a - floor(a/b)*b for floats. */
function remainder(g: GraphBuilder, [a, b]: Value[], spec: { dtype: DType; shape: number[]; batchAxis: number | null }): Value {
  if (!isFloat(spec.dtype)) return g.node('Mod', [a!, b!], { fmod: int(0) }, spec);
  const quotient = g.node('Floor', [g.node('Div', [a!, b!], {}, spec)], {}, spec);
  return g.node('Sub', [a!, g.node('Mul', [quotient, b!], {}, spec)], {}, spec);
}

/** base + a * b: Mul then Add. */
const addcmul: Converter = (call, g) => {
  const out = call.outputs[0]!;
  const [base, a, b] = [0, 1, 2].map((i) => castTo(g, tensorAt(call, i), out.dtype)) as [Value, Value, Value];
  const productShape = broadcastShape(a.shape, b.shape);
  const productAxis = broadcastBatchAxis(g, 'addcmul', [a, b], productShape);
  const product = g.node('Mul', [a, b], {}, { dtype: out.dtype, shape: productShape, batchAxis: productAxis });
  return [g.node('Add', [base, product], {}, outSpec(call, broadcastBatchAxis(g, 'addcmul', [base, product], out.shape)))];
};

/**
 * clamp(x * scale + shift) per channel: scale and shift ([C], [1, C] or
 * [N, C]) get x's trailing axes of size 1, then Mul, Add and, with a bound, Clip.
 */
const channelAffine: Converter = (call, g) => {
  const out = call.outputs[0]!;
  const x = castTo(g, tensorAt(call, 0), out.dtype);
  const spatial = x.rank - 2;
  const perChannel = (v: Value): Value => {
    const first = v.rank === 1 ? 1 : 2;
    const axes = Array.from({ length: spatial }, (_, i) => first + i);
    const shape = [...v.shape, ...new Array<number>(spatial).fill(1)];
    return spatial === 0 ? v : g.node('Unsqueeze', [v, g.int64s(axes)], {}, { dtype: v.dtype, shape, batchAxis: v.batchAxis });
  };
  const [scale, shift] = [1, 2].map((i) => perChannel(castTo(g, tensorAt(call, i), out.dtype))) as [Value, Value];
  const spec = (operands: Value[]) => ({ dtype: out.dtype, shape: out.shape, batchAxis: broadcastBatchAxis(g, 'channelAffine', operands, out.shape) });
  const product = g.node('Mul', [x, scale], {}, spec([x, scale]));
  const sum = g.node('Add', [product, shift], {}, spec([product, shift]));
  const bound = (v: unknown) => (typeof v === 'number' ? g.scalar(v, out.dtype) : null);
  const [min, max] = [bound(call.attrs.min), bound(call.attrs.max)];
  if (min === null && max === null) return [sum];
  return [g.node('Clip', [sum, min, max], {}, outSpec(call, sum.batchAxis))];
};

function broadcastShape(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[i - rank + a.length] ?? 1, y = b[i - rank + b.length] ?? 1;
    return x === 1 ? y : x;
  });
}

const where: Converter = (call, g) => {
  const out = call.outputs[0]!;
  const cond = castTo(g, tensorAt(call, 0), 'bool');
  const [a, b] = call.inputs.slice(1, 3).map((v) => (typeof v === 'number' ? g.scalar(v, out.dtype) : castTo(g, v!, out.dtype)));
  const axis = broadcastBatchAxis(g, 'where', [cond, a!, b!], out.shape);
  return [g.node('Where', [cond, a!, b!], {}, outSpec(call, axis))];
};

const maskedFill: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const mask = castTo(g, tensorAt(call, 1), 'bool');
  const fill = g.scalar(call.attrs.value as number, x.dtype);
  const axis = broadcastBatchAxis(g, 'maskedFill', [x, mask], call.outputs[0]!.shape);
  return [g.node('Where', [mask, fill, x], {}, outSpec(call, axis))];
};

const clamp: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const bound = (v: unknown) => (typeof v === 'number' ? g.scalar(v, x.dtype) : null);
  return [g.node('Clip', [x, bound(call.attrs.min), bound(call.attrs.max)], {}, outSpec(call, x.batchAxis))];
};

const to: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  return [castTo(g, x, call.outputs[0]!.dtype)];
};

/** Ops that change memory layout, autograd state or device only: the output is the input. */
const alias: Converter = (call) => [tensorAt(call, 0)];

const dropout: Converter = () => {
  throw new Error('ONNX export: dropout ran in training mode; call model.eval() before exporting');
};

export const elementwiseConverters: Record<string, Converter> = {
  ...Object.fromEntries(Object.keys(UNARY).map((op) => [op, unary(op)])),
  ...Object.fromEntries([...Object.keys(ARITHMETIC), ...Object.keys(COMPARISON), 'ne', 'logicalAnd', 'logicalOr', 'remainder'].map((op) => [op, binary])),
  where, maskedFill, clamp, to, addcmul, channelAffine,
  contiguous: alias, clone: alias, detach: alias, dropout,
};
