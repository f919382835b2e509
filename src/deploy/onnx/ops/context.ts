// What an op converter receives: the engine op as the tracer saw it, with
// tensor inputs already resolved to graph values.
import type { DType } from '../../../engine/dtype.js';
import type { GraphBuilder, OutSpec, Value } from '../graph.js';

export interface OpCall {
  op: string;
  /** Graph values for tensor inputs; numbers stay numbers; null for absent optional inputs. */
  inputs: (Value | number | null)[];
  attrs: Record<string, unknown>;
  /** dtype and shape of each traced output. */
  outputs: { dtype: DType; shape: number[] }[];
}

/** Emits the ONNX nodes for one engine op and returns the values standing for its outputs. */
export type Converter = (call: OpCall, g: GraphBuilder) => Value[];

export function unsupported(op: string, why: string): Error {
  return new Error(`ONNX export: ${op} ${why}`);
}

/** The tensor input at index i; a clear error if it is missing or a number. */
export function tensorAt(call: OpCall, i: number): Value {
  const v = call.inputs[i];
  if (v === null || v === undefined || typeof v === 'number') throw unsupported(call.op, `expects a tensor as input ${i}`);
  return v;
}

/** The optional tensor input at index i (null when absent). */
export function optionalAt(call: OpCall, i: number): Value | null {
  const v = call.inputs[i];
  if (typeof v === 'number') throw unsupported(call.op, `expects a tensor or nothing as input ${i}, got the number ${v}`);
  return v ?? null;
}

/** The spec of traced output i with a batch axis. */
export function outSpec(call: OpCall, batchAxis: number | null, i = 0): OutSpec {
  const o = call.outputs[i]!;
  return { dtype: o.dtype, shape: o.shape, batchAxis };
}

export const attrNumber = (call: OpCall, key: string): number => call.attrs[key] as number;
export const attrNumbers = (call: OpCall, key: string): number[] => call.attrs[key] as number[];

export const isFloat = (dtype: DType): boolean => dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
