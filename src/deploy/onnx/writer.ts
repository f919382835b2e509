// Export: run a function under the ONNX tracer, then serialise the recorded
// graph as an ONNX ModelProto (opset 17) with metadata_props (serialize.ts).
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { noGrad } from '../../engine/runtime.js';
import { tidy } from '../../engine/scope.js';
import type { Tensor } from '../../engine/tensor.js';
import { withTracer } from '../../engine/trace.js';
import { foldConvAffine } from './fold-conv.js';
import { serializeGraph, type SerializeOptions } from './serialize.js';
import { OnnxTracer, type GraphInput } from './tracer.js';

export type TracedOutputs = Tensor | Tensor[] | Record<string, Tensor>;

export interface ExportOptions extends SerializeOptions {
  /** Names for the outputs when fn returns a tensor or an array (default output, output_1, ...). */
  outputNames?: string[];
  /** Readable initializer names, e.g. model.stateDict(). */
  names?: Iterable<[string, Tensor]>;
  /** Ops on constants only become constants (default true). */
  foldConstants?: boolean;
  /** Per-channel affine ops after a convolution (batch norm, generated scale and shift) go into its weights (default true). */
  foldConvAffine?: boolean;
}

/** Traces fn on example inputs (given to it by name) and returns the ONNX file's bytes. */
export function exportOnnx(fn: (inputs: Record<string, Tensor>) => TracedOutputs, exampleInputs: GraphInput[],
  options: ExportOptions = {}): Uint8Array {
  const tracer = new OnnxTracer(exampleInputs, options.names, options.foldConstants ?? true);
  const byName = Object.fromEntries(exampleInputs.map((i) => [i.name, i.tensor]));
  tidy(() => {
    const outputs = noGrad(() => withTracer(tracer, () => fn(byName)));
    markOutputs(tracer, namedOutputs(outputs, options.outputNames));
    return null;
  });
  if (options.foldConvAffine ?? true) foldConvAffine(tracer.graph);
  return serializeGraph(tracer.graph, options);
}

/** exportOnnx, written to a file atomically; returns the file size in bytes. */
export function saveOnnx(file: string, fn: (inputs: Record<string, Tensor>) => TracedOutputs, exampleInputs: GraphInput[],
  options: ExportOptions = {}): number {
  const bytes = exportOnnx(fn, exampleInputs, options);
  writeFileAtomic(file, [bytes]);
  return bytes.byteLength;
}

function namedOutputs(outputs: TracedOutputs, names: string[] | undefined): [string, Tensor][] {
  const list: [string, Tensor][] = Array.isArray(outputs)
    ? outputs.map((t, i) => [names?.[i] ?? (i === 0 ? 'output' : `output_${i}`), t])
    : isTensor(outputs) ? [[names?.[0] ?? 'output', outputs]] : Object.entries(outputs);
  if (list.length === 0) throw new Error('ONNX export: the traced function returned no tensors');
  return list;
}

const isTensor = (x: unknown): x is Tensor => typeof x === 'object' && x !== null && 'handle' in x && 'shape' in x;

/** Gives each output its name: the producing value is renamed, or an Identity is added for inputs, constants and repeats. */
function markOutputs(tracer: OnnxTracer, outputs: [string, Tensor][]): void {
  const g = tracer.graph;
  for (const [name, tensor] of outputs) {
    const value = tracer.valueOf(tensor);
    if (g.isComputed(value) && !g.outputs.includes(value)) {
      g.rename(value, name);
      g.outputs.push(value);
    } else {
      const copy = g.node('Identity', [value], {}, { dtype: value.dtype, shape: value.shape, batchAxis: value.batchAxis });
      g.rename(copy, name);
      g.outputs.push(copy);
    }
  }
}

