// The table from engine op names to ONNX converters. An op missing here is
// an export error that names it.
import type { Converter } from './context.js';
import { elementwiseConverters } from './elementwise.js';
import { nnConverters } from './nn.js';
import { reduceConverters } from './reduce.js';
import { shapeConverters } from './shape.js';

const CONVERTERS: Record<string, Converter> = {
  ...elementwiseConverters, ...nnConverters, ...reduceConverters, ...shapeConverters,
};

/** Engine ops that export to ONNX ("constant" is handled by the tracer itself). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(CONVERTERS).sort();

export function converterFor(op: string): Converter {
  const converter = CONVERTERS[op];
  if (converter === undefined) {
    throw new Error(`ONNX export: the engine op "${op}" has no ONNX conversion; avoid it in the exported forward pass `
      + 'or add a converter in src/deploy/onnx/ops/');
  }
  return converter;
}
