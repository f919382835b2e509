// Reductions -> ONNX (opset 17: ReduceSum takes axes as an input, the other
// Reduce* ops as an attribute), arg-max/min, top-k, norms, variance, cumsum.
import { batchAxisAfterReduce, normAxis } from '../batch.js';
import { int, ints, type GraphBuilder, type Value } from '../graph.js';
import { castTo } from './elementwise.js';
import { outSpec, tensorAt, unsupported, type Converter, type OpCall } from './context.js';

const REDUCE: Record<string, string> = {
  sum: 'ReduceSum', mean: 'ReduceMean', amax: 'ReduceMax', amin: 'ReduceMin', logsumexp: 'ReduceLogSumExp', prod: 'ReduceProd',
};

const ONE_DIM_ONLY = new Set(['all', 'any', 'prod']);

const axesOf = (call: OpCall, x: Value): number[] | null => {
  const dims = call.attrs.dims as number[] | null;
  return dims === null ? null : dims.map((d) => normAxis(d, x.rank));
};

/** One Reduce* node over axes (null: all axes). */
export function reduceNode(g: GraphBuilder, opType: string, x: Value, axes: number[] | null, keepdim: boolean,
  out: { dtype: Value['dtype']; shape: number[]; batchAxis: number | null }): Value {
  const keepdims = int(keepdim ? 1 : 0);
  if (opType === 'ReduceSum') return g.node(opType, axes === null ? [x] : [x, g.int64s(axes)], { keepdims }, out);
  return g.node(opType, [x], axes === null ? { keepdims } : { axes: ints(axes), keepdims }, out);
}

const reduce: Converter = (call, g) => {
  const out = call.outputs[0]!;
  const x = castTo(g, tensorAt(call, 0), out.dtype === 'bool' ? 'int64' : out.dtype);
  const axes = axesOf(call, x);
  if (axes !== null && axes.length > 1 && ONE_DIM_ONLY.has(call.op)) {
    // The engine (libtorch 1.13 all/any/prod) reduces only the first of several dims; refuse rather than guess.
    throw unsupported(call.op, `over several dims [${axes}] reduces only dim ${axes[0]} in the engine; reduce one dim at a time`);
  }
  const keepdim = call.attrs.keepdim as boolean;
  const spec = outSpec(call, batchAxisAfterReduce(x, axes, keepdim));
  if (call.op === 'all' || call.op === 'any') {
    const y = reduceNode(g, call.op === 'all' ? 'ReduceMin' : 'ReduceMax', x, axes, keepdim, { ...spec, dtype: 'int64' });
    return [castTo(g, y, 'bool')];
  }
  return [reduceNode(g, REDUCE[call.op]!, x, axes, keepdim, spec)];
};

const argReduce: Converter = (call, g) => {
  let x = tensorAt(call, 0);
  let dim = call.attrs.dim as number | null;
  const keepdim = call.attrs.keepdim as boolean;
  if (dim === null) {
    if (keepdim) throw unsupported(call.op, 'over all axes with keepdim is not exportable; give a dim');
    x = g.node('Reshape', [x, g.int64s([-1])], {}, { dtype: x.dtype, shape: [x.shape.reduce((a, b) => a * b, 1)], batchAxis: null });
    dim = 0;
  }
  const axis = normAxis(dim, x.rank);
  const opType = call.op === 'argmax' ? 'ArgMax' : 'ArgMin';
  return [g.node(opType, [x], { axis: int(axis), keepdims: int(keepdim ? 1 : 0) }, outSpec(call, batchAxisAfterReduce(x, [axis], keepdim)))];
};

const topk: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const axis = normAxis(call.attrs.dim as number, x.rank);
  const batchAxis = x.batchAxis === axis ? null : x.batchAxis;
  const attrs = { axis: int(axis), largest: int(call.attrs.largest ? 1 : 0), sorted: int(1) };
  return g.nodeMany('TopK', [x, g.int64s([call.attrs.k as number])], attrs, [outSpec(call, batchAxis, 0), outSpec(call, batchAxis, 1)]);
};

const norm: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const p = call.attrs.p as number;
  const axes = axesOf(call, x);
  const keepdim = call.attrs.keepdim as boolean;
  const spec = outSpec(call, batchAxisAfterReduce(x, axes, keepdim));
  if (p === 2) return [reduceNode(g, 'ReduceL2', x, axes, keepdim, spec)];
  if (p === 1) return [reduceNode(g, 'ReduceL1', x, axes, keepdim, spec)];
  if (p === Infinity) return [reduceNode(g, 'ReduceMax', g.node('Abs', [x], {}, { ...spec, shape: x.shape }), axes, keepdim, spec)];
  throw unsupported('norm', `with p=${p} is not exportable; use p = 1, 2 or Infinity`);
};

/** var/std as mean of squared deviations, with Bessel's correction when unbiased. */
const variance: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const axes = axesOf(call, x) ?? x.shape.map((_, i) => i);
  if (x.batchAxis !== null && axes.includes(x.batchAxis)) throw unsupported(call.op, 'over the dynamic batch axis is not exportable');
  const keepdim = call.attrs.keepdim as boolean;
  const spec = outSpec(call, batchAxisAfterReduce(x, axes, keepdim));
  const full = { dtype: x.dtype, shape: x.shape, batchAxis: x.batchAxis };
  const mean = reduceNode(g, 'ReduceMean', x, axes, true, full);
  const centred = g.node('Sub', [x, mean], {}, full);
  let y = reduceNode(g, 'ReduceMean', g.node('Mul', [centred, centred], {}, full), axes, keepdim, spec);
  const n = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  if (call.attrs.unbiased) y = g.node('Mul', [y, g.scalar(n / (n - 1), x.dtype)], {}, spec);
  return [call.op === 'std' ? g.node('Sqrt', [y], {}, spec) : y];
};

const cumsum: Converter = (call, g) => {
  const out = call.outputs[0]!;
  const x = castTo(g, tensorAt(call, 0), out.dtype);
  const axis = g.scalar(normAxis(call.attrs.dim as number, x.rank), 'int64');
  return [g.node('CumSum', [x, axis], {}, outSpec(call, x.batchAxis))];
};

export const reduceConverters: Record<string, Converter> = {
  ...Object.fromEntries([...Object.keys(REDUCE), 'all', 'any'].map((op) => [op, reduce])),
  argmax: argReduce, argmin: argReduce, topk, norm, var: variance, std: variance, cumsum,
};
