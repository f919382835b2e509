// Keeping the batch dynamic. A traced graph sees one concrete batch size B;
// each value remembers which axis (if any) has size B*k for a constant k, so
// that shapes baked into the graph (Reshape targets, Expand shapes) can say
// "whatever the batch is" on that axis and stay valid for other batch sizes.
import type { GraphBuilder, Value } from './graph.js';

export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

const product = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * The output batch axis of a broadcasting op. A batch-independent operand
 * whose size on that axis equals the traced batch would break at any other
 * batch size, so it is an export error rather than a silently wrong graph.
 */
export function broadcastBatchAxis(g: GraphBuilder, op: string, operands: Value[], outShape: number[]): number | null {
  const rank = outShape.length;
  let axis: number | null = null;
  for (const v of operands) if (v.batchAxis !== null && axis === null) axis = v.batchAxis + rank - v.rank;
  if (axis === null) return null;
  for (const v of operands) {
    if (v.batchAxis !== null) continue;
    const i = axis - (rank - v.rank);
    if (i >= 0 && v.shape[i] !== 1) {
      throw new Error(`ONNX export: ${op} combines a batch-dependent tensor with a fixed tensor of shape [${v.shape}] `
        + `whose axis ${i} has the traced batch size ${g.batchSize}; build that tensor from the input's shape `
        + `(expand/broadcast a size-1 axis) or export without dynamicBatch`);
    }
  }
  return axis;
}

/** A batch axis after removing the listed axes (reductions without keepdim). */
export function batchAxisAfterReduce(value: Value, axes: number[] | null, keepdim: boolean): number | null {
  const a = value.batchAxis;
  if (a === null || axes === null) return null;
  const norm = axes.map((d) => normAxis(d, value.rank));
  if (norm.includes(a)) return null;
  return keepdim ? a : a - norm.filter((d) => d < a).length;
}

/**
 * The Reshape target for a traced output shape: the dimension that carries
 * the batch becomes -1 (inferred at run time), the rest stay constants. The
 * batch dimension is the one that starts where the input's batch axis starts
 * (same product of outer dimensions) and is a multiple of the traced batch.
 */
export function reshapeTarget(g: GraphBuilder, input: Value, outShape: number[]): { shape: number[]; batchAxis: number | null } {
  const a = input.batchAxis;
  if (a === null || g.batchSize === null) return { shape: outShape, batchAxis: null };
  const outer = product(input.shape.slice(0, a));
  let prefix = 1;
  for (let p = 0; p < outShape.length; p++) {
    if (prefix === outer && outShape[p]! % g.batchSize === 0 && outShape[p]! > 0) {
      const shape = outShape.slice();
      shape[p] = -1;
      return { shape, batchAxis: p };
    }
    prefix *= outShape[p]!;
  }
  throw new Error(`ONNX export: reshape of [${input.shape}] to [${outShape}] mixes the dynamic batch axis ${a} with other axes; `
    + 'keep the batch as its own leading axis in reshapes, or export without dynamicBatch');
}

/** The ONNX value_info dims of a value: the batch axis named "batch" (times its constant factor). */
export function symbolicDims(g: GraphBuilder, value: Value): (number | string)[] {
  return value.shape.map((d, i) => {
    if (i !== value.batchAxis || g.batchSize === null) return d;
    const factor = d / g.batchSize;
    return factor === 1 ? 'batch' : `batch*${factor}`;
  });
}
