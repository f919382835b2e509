// Export: run a function under the ONNX tracer, then serialise the recorded
// graph as an ONNX ModelProto (opset 17) with metadata_props.
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { noGrad } from '../../engine/runtime.js';
import { tidy } from '../../engine/scope.js';
import type { Tensor } from '../../engine/tensor.js';
import { withTracer } from '../../engine/trace.js';
import { symbolicDims } from './batch.js';
import { foldConvAffine } from './fold-conv.js';
import type { Attr, GraphBuilder, Node, Value } from './graph.js';
import { onnx, onnxElementType, type AttributeProto, type ModelProto, type ValueInfoProto } from './proto.js';
import { OnnxTracer, type GraphInput } from './tracer.js';

export const OPSET_VERSION = 17;
const IR_VERSION = 8; // the IR of ONNX 1.12, the release that introduced opset 17
export const PRODUCER_NAME = 'hyperclip';

export type TracedOutputs = Tensor | Tensor[] | Record<string, Tensor>;

export interface ExportOptions {
  /** Names for the outputs when fn returns a tensor or an array (default output, output_1, ...). */
  outputNames?: string[];
  /** Readable initializer names, e.g. model.stateDict(). */
  names?: Iterable<[string, Tensor]>;
  /** Free-form key/value strings stored in the file (metadata_props). */
  metadata?: Record<string, string>;
  graphName?: string;
  docString?: string;
  producerVersion?: string;
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
  return onnx.ModelProto.encode(modelProto(tracer.graph, options)).finish();
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

/** Nodes and initializers the outputs depend on, in recorded order (dead code from the trace is dropped). */
function liveGraph(g: GraphBuilder): { nodes: Node[]; live: Set<Value> } {
  const live = new Set<Value>(g.outputs);
  const nodes: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => live.has(o))) continue;
    nodes.push(node);
    for (const input of node.inputs) if (input !== null) live.add(input);
  }
  return { nodes: nodes.reverse(), live };
}

function modelProto(g: GraphBuilder, options: ExportOptions): ModelProto {
  const { nodes, live } = liveGraph(g);
  const graph = {
    name: options.graphName ?? 'hyperclip',
    node: nodes.map((n, i) => ({
      name: `${n.opType}_${i}`,
      opType: n.opType,
      input: n.inputs.map((v) => (v === null ? '' : v.name)),
      output: n.outputs.map((v) => v.name),
      attribute: Object.entries(n.attrs).map(([name, attr]) => attributeProto(name, attr)),
    })),
    initializer: g.initializers.filter((i) => live.has(i.value)).map((i) => ({
      name: i.value.name, dims: i.value.shape, dataType: onnxElementType(i.value.dtype), rawData: i.bytes,
    })),
    input: g.inputs.map((v) => valueInfo(g, v)),
    output: g.outputs.map((v) => valueInfo(g, v)),
  };
  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: PRODUCER_NAME,
    producerVersion: options.producerVersion ?? '0.1.0',
    docString: options.docString ?? '',
    graph,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

function valueInfo(g: GraphBuilder, v: Value): ValueInfoProto {
  const dim = symbolicDims(g, v).map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name: v.name, type: { tensorType: { elemType: onnxElementType(v.dtype), shape: { dim } } } };
}

function attributeProto(name: string, attr: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (attr.type) {
    case 'int': return { name, type: T.INT, i: attr.value };
    case 'float': return { name, type: T.FLOAT, f: attr.value };
    case 'ints': return { name, type: T.INTS, ints: attr.value };
    case 'floats': return { name, type: T.FLOATS, floats: attr.value };
    case 'string': return { name, type: T.STRING, s: new TextEncoder().encode(attr.value) };
  }
}
