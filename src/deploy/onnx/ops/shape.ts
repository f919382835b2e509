// Shape and indexing engine ops -> ONNX: reshape, transpose, slice, gather,
// expand, squeeze, repeat, triangles, flip, cat and stack. Shapes come from
// the traced outputs; the batch axis is kept symbolic (see batch.ts).
import { normAxis, reshapeTarget } from '../batch.js';
import { INT64_MAX, int, ints, type GraphBuilder, type OutSpec, type Value } from '../graph.js';
import { attrNumbers, outSpec, tensorAt, unsupported, type Converter } from './context.js';

const INT64_MIN = -9223372036854775808n;

function reshapeTo(g: GraphBuilder, x: Value, outShape: number[]): Value {
  const target = reshapeTarget(g, x, outShape);
  return g.node('Reshape', [x, g.int64s(target.shape)], {}, { dtype: x.dtype, shape: outShape, batchAxis: target.batchAxis });
}

const reshape: Converter = (call, g) => [reshapeTo(g, tensorAt(call, 0), call.outputs[0]!.shape)];

const transposeBy = (g: GraphBuilder, x: Value, perm: number[], out: number[]): Value => {
  const axis = x.batchAxis === null ? null : perm.indexOf(x.batchAxis);
  return g.node('Transpose', [x], { perm: ints(perm) }, { dtype: x.dtype, shape: out, batchAxis: axis });
};

const permute: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  return [transposeBy(g, x, attrNumbers(call, 'dims').map((d) => normAxis(d, x.rank)), call.outputs[0]!.shape)];
};

const transpose: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const [d0, d1] = [normAxis(call.attrs.dim0 as number, x.rank), normAxis(call.attrs.dim1 as number, x.rank)];
  const perm = x.shape.map((_, i) => (i === d0 ? d1 : i === d1 ? d0 : i));
  return [transposeBy(g, x, perm, call.outputs[0]!.shape)];
};

const slice: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const axis = normAxis(call.attrs.dim as number, x.rank);
  const { start, end, step } = call.attrs as { start: number; end: number; step: number };
  const size = x.shape[axis]!;
  if (start === 0 && end >= size && step === 1) return [x];
  // A slice running to the end of the batch axis must keep running to the end at other batch sizes.
  const stop = x.batchAxis === axis && end >= size ? INT64_MAX : end;
  const batchAxis = x.batchAxis === axis ? null : x.batchAxis;
  const inputs = [x, g.int64s([start]), g.int64s([stop]), g.int64s([axis]), g.int64s([step])];
  return [g.node('Slice', inputs, {}, outSpec(call, batchAxis))];
};

const indexSelect: Converter = (call, g) => {
  const [x, index] = [tensorAt(call, 0), tensorAt(call, 1)];
  const axis = normAxis(call.attrs.dim as number, x.rank);
  if (index.rank !== 1) throw unsupported('indexSelect', `needs a 1-D index, got shape [${index.shape}]`);
  if (x.batchAxis === axis && index.batchAxis === null) {
    throw unsupported('indexSelect', `picks fixed positions [${index.shape}] along the dynamic batch axis, which would not follow the batch size; `
      + 'gather with an index computed from the input, or export without dynamicBatch');
  }
  const batchAxis = x.batchAxis === axis ? axis : x.batchAxis;
  return [g.node('Gather', [x, index], { axis: int(axis) }, outSpec(call, batchAxis))];
};

const gather: Converter = (call, g) => {
  const [x, index] = [tensorAt(call, 0), tensorAt(call, 1)];
  const axis = normAxis(call.attrs.dim as number, x.rank);
  if (x.batchAxis !== null && index.batchAxis === null && index.shape[x.batchAxis] === x.shape[x.batchAxis]) {
    throw unsupported('gather', `uses a fixed index of shape [${index.shape}] on a batch-dependent tensor; derive the index from the input`);
  }
  return [g.node('GatherElements', [x, index], { axis: int(axis) }, outSpec(call, index.batchAxis))];
};

/** Expand with 1 wherever the input already has the target size, so a batch axis is never baked in. */
const expand: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const out = call.outputs[0]!.shape;
  const lead = out.length - x.rank;
  const shape = out.map((d, i) => (i >= lead && x.shape[i - lead] === d ? 1 : d));
  const batchAxis = x.batchAxis === null ? null : x.batchAxis + lead;
  return [g.node('Expand', [x, g.int64s(shape)], {}, outSpec(call, batchAxis))];
};

const squeeze: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const dim = call.attrs.dim as number | null;
  const axes = dim === null ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : [normAxis(dim, x.rank)].filter((a) => x.shape[a] === 1);
  if (axes.length === 0) return [x];
  const a = x.batchAxis;
  const batchAxis = a === null ? null : a - axes.filter((d) => d < a).length;
  return [g.node('Squeeze', [x, g.int64s(axes)], {}, outSpec(call, batchAxis))];
};

function unsqueezeAt(g: GraphBuilder, x: Value, dim: number): Value {
  const d = dim < 0 ? dim + x.rank + 1 : dim;
  const shape = [...x.shape.slice(0, d), 1, ...x.shape.slice(d)];
  const batchAxis = x.batchAxis === null ? null : x.batchAxis >= d ? x.batchAxis + 1 : x.batchAxis;
  return g.node('Unsqueeze', [x, g.int64s([d])], {}, { dtype: x.dtype, shape, batchAxis });
}

const unsqueeze: Converter = (call, g) => [unsqueezeAt(g, tensorAt(call, 0), call.attrs.dim as number)];

const repeat: Converter = (call, g) => {
  let x = tensorAt(call, 0);
  const repeats = attrNumbers(call, 'repeats');
  if (repeats.length > x.rank) x = reshapeTo(g, x, [...new Array<number>(repeats.length - x.rank).fill(1), ...x.shape]);
  const a = x.batchAxis;
  const batchAxis = a !== null && repeats[a] === 1 ? a : null;
  return [g.node('Tile', [x, g.int64s(repeats)], {}, outSpec(call, batchAxis))];
};

const triangle = (upper: boolean): Converter => (call, g) => {
  const x = tensorAt(call, 0);
  const k = g.scalar(call.attrs.diagonal as number, 'int64');
  return [g.node('Trilu', [x, k], { upper: int(upper ? 1 : 0) }, outSpec(call, x.batchAxis))];
};

const flip: Converter = (call, g) => {
  const x = tensorAt(call, 0);
  const axes = attrNumbers(call, 'dims').map((d) => normAxis(d, x.rank));
  const inputs = [x, g.int64s(axes.map(() => -1)), g.int64s(axes.map(() => INT64_MIN)), g.int64s(axes), g.int64s(axes.map(() => -1))];
  return [g.node('Slice', inputs, {}, outSpec(call, x.batchAxis))];
};

/** Concat along axis; a part without the batch axis next to parts with one can only be right at the traced batch. */
function concat(g: GraphBuilder, parts: Value[], axis: number, out: OutSpec): Value {
  const withBatch = parts.filter((p) => p.batchAxis !== null);
  let batchAxis: number | null = null;
  if (withBatch.length > 0) {
    const a = withBatch[0]!.batchAxis!;
    if (a !== axis && withBatch.length < parts.length) {
      throw unsupported('cat', `joins a batch-dependent tensor with a fixed one of shape [${parts.find((p) => p.batchAxis === null)!.shape}]; expand the fixed one from the input`);
    }
    batchAxis = a === axis && withBatch.length < parts.length ? null : a;
  }
  return g.node('Concat', parts, { axis: int(axis) }, { ...out, batchAxis });
}

const cat: Converter = (call, g) => {
  const parts = call.inputs.map((_, i) => tensorAt(call, i));
  return [concat(g, parts, normAxis(call.attrs.dim as number, parts[0]!.rank), outSpec(call, null))];
};

const stack: Converter = (call, g) => {
  const parts = call.inputs.map((_, i) => tensorAt(call, i));
  const dim = normAxis(call.attrs.dim as number, parts[0]!.rank + 1);
  return [concat(g, parts.map((p) => unsqueezeAt(g, p, dim)), dim, outSpec(call, null))];
};

export const shapeConverters: Record<string, Converter> = {
  reshape, flatten: reshape, permute, transpose, slice, indexSelect, gather, expand, squeeze, unsqueeze, repeat,
  tril: triangle(false), triu: triangle(true), flip, cat, stack,
};
