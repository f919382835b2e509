// The hook through which a tracing backend observes the model code as it runs:
// every engine operation reports its name, inputs, attributes and outputs.
// The ONNX exporter installs a Tracer; in training none is installed and the
// cost is one null check per operation.
import type { Tensor } from './tensor.js';

export type TraceInput = Tensor | number | null;

export interface Tracer {
  record(op: string, inputs: TraceInput[], attrs: Record<string, unknown>, outputs: Tensor[]): void;
}

let active: Tracer | null = null;

export const activeTracer = (): Tracer | null => active;

/** Runs fn with a tracer installed; nested tracing is an error. */
export function withTracer<T>(tracer: Tracer, fn: () => T): T {
  if (active !== null) throw new Error('a tracer is already active');
  active = tracer;
  try {
    return fn();
  } finally {
    active = null;
  }
}
