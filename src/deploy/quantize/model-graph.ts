// A read-only index over an ONNX ModelProto for the quantization passes:
// which node produces and which nodes read each tensor, the initializers,
// the graph's outputs, and typed reads of attributes and constants. Built
// again after a pass changes the graph, rather than kept in step.
import { onnx, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { initializerFloats } from '../onnx/sparse-initializers.js';

export const ELEMENT = onnx.TensorProto.DataType;

export class ModelGraph {
  readonly nodes: NodeProto[];
  readonly initializers = new Map<string, TensorProto>();
  readonly producers = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly outputs: Set<string>;
  readonly inputs: Set<string>;

  constructor(readonly model: ModelProto) {
    const graph = model.graph;
    if (!graph) throw new Error('not an ONNX model: it has no graph');
    this.nodes = graph.node ?? [];
    for (const t of graph.initializer ?? []) this.initializers.set(t.name!, t);
    for (const node of this.nodes) {
      for (const name of node.output ?? []) if (name !== '') this.producers.set(name, node);
      for (const name of node.input ?? []) {
        if (name === '') continue;
        const list = this.consumers.get(name) ?? [];
        if (!list.includes(node)) list.push(node);
        this.consumers.set(name, list);
      }
    }
    this.outputs = new Set((graph.output ?? []).map((v) => v.name!));
    this.inputs = new Set((graph.input ?? []).map((v) => v.name!).filter((name) => !this.initializers.has(name)));
  }

  isInitializer(name: string): boolean {
    return this.initializers.has(name);
  }

  /** A tensor computed by a node or fed to the graph, as opposed to a constant. */
  isActivation(name: string): boolean {
    return name !== '' && !this.initializers.has(name) && (this.producers.has(name) || this.inputs.has(name));
  }

  consumersOf(name: string): NodeProto[] {
    return this.consumers.get(name) ?? [];
  }

  /** A float32 initializer's values, or null for anything else. */
  floats(name: string): Float32Array | null {
    const t = this.initializers.get(name);
    return t !== undefined && t.dataType === ELEMENT.FLOAT ? initializerFloats(t) : null;
  }

  dims(name: string): number[] {
    return (this.initializers.get(name)?.dims ?? []).map(Number);
  }
}

export const attribute = (node: NodeProto, name: string) => (node.attribute ?? []).find((a) => a.name === name);

export const intAttr = (node: NodeProto, name: string, fallback: number): number => {
  const a = attribute(node, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
};

export const intsAttr = (node: NodeProto, name: string): number[] | null => {
  const a = attribute(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : null;
};

export const stringAttr = (node: NodeProto, name: string): string | null => {
  const s = attribute(node, name)?.s;
  return s && s.length > 0 ? new TextDecoder().decode(s) : null;
};

/** An int64 initializer's values (raw_data or int64_data), or null for anything else. */
export function int64Values(t: TensorProto | undefined): number[] | null {
  if (t === undefined || t.dataType !== ELEMENT.INT64) return null;
  if (t.rawData && t.rawData.length > 0) {
    const copy = Uint8Array.from(t.rawData);
    return Array.from(new BigInt64Array(copy.buffer), Number);
  }
  return (t.int64Data ?? []).map((v) => Number(v.toString()));
}
