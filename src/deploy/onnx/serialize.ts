// A GraphBuilder as an ONNX ModelProto (opset 17, IR 8) with metadata_props.
// No engine imports: graphs rebuilt from files are written without libtorch.
import { symbolicDims } from './batch.js';
import type { Attr, GraphBuilder, Node, Value } from './graph.js';
import { onnx, onnxElementType, type AttributeProto, type ModelProto, type ValueInfoProto } from './proto.js';

export const OPSET_VERSION = 17;
const IR_VERSION = 8; // the IR of ONNX 1.12, the release that introduced opset 17
export const PRODUCER_NAME = 'hyperclip';

export interface SerializeOptions {
  /** Free-form key/value strings stored in the file (metadata_props). */
  metadata?: Record<string, string>;
  graphName?: string;
  docString?: string;
  producerVersion?: string;
}

/** The ONNX file bytes of a graph; nodes and initializers the outputs do not need are left out. */
export function serializeGraph(g: GraphBuilder, options: SerializeOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(modelProto(g, options)).finish();
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

function modelProto(g: GraphBuilder, options: SerializeOptions): ModelProto {
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
