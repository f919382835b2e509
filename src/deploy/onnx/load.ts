// An ONNX file written by hyperclip, read back into a GraphBuilder so that
// graph passes (substituting inputs, folding) can run on it without libtorch.
// Intermediate values get no shapes: the passes that run here need none.
import { float, int, ints, str, GraphBuilder, Value, type Attr } from './graph.js';
import { dtypeOfOnnx, onnx } from './proto.js';
import type { DType } from '../../engine/dtype.js';

type ValueInfo = InstanceType<typeof onnx.ValueInfoProto>;

/** The traced batch size stands in for a "batch" axis; any value >= 2 would do. */
const PLACEHOLDER_BATCH = 2;

export interface LoadedGraph {
  graph: GraphBuilder;
  byName: Map<string, Value>;
  metadata: Record<string, string>;
}

export function loadGraph(bytes: Uint8Array): LoadedGraph {
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new Error('not an ONNX model: it has no graph');
  const g = new GraphBuilder(PLACEHOLDER_BATCH);
  const byName = new Map<string, Value>();
  for (const t of model.graph.initializer ?? []) {
    const dtype = dtypeOf(t.dataType ?? 0, t.name ?? '');
    byName.set(t.name!, g.addNamedInitializer(t.name!, dtype, (t.dims ?? []).map(Number), tensorBytes(t as InstanceType<typeof onnx.TensorProto>)));
  }
  for (const v of (model.graph.input ?? []) as ValueInfo[]) {
    if (byName.has(v.name)) continue;
    const { dtype, shape, batchAxis } = described(v);
    byName.set(v.name, g.addInput(v.name, dtype, shape, batchAxis));
  }
  const outputInfo = new Map(((model.graph.output ?? []) as ValueInfo[]).map((v) => [v.name, described(v)]));
  for (const n of model.graph.node ?? []) {
    const inputs = (n.input ?? []).map((name) => {
      if (name === '') return null;
      const v = byName.get(name);
      if (v === undefined) throw new Error(`ONNX graph: node ${n.name} reads "${name}" before anything produces it`);
      return v;
    });
    const outputs = (n.output ?? []).map((name) => {
      const info = outputInfo.get(name);
      const v = new Value(name, info?.dtype ?? 'float32', info?.shape ?? [], info?.batchAxis ?? null);
      byName.set(name, v);
      return v;
    });
    const attrs = Object.fromEntries((n.attribute ?? []).map((a) => [a.name!, attrOf(a as InstanceType<typeof onnx.AttributeProto>)]));
    g.addNode({ opType: n.opType!, inputs, outputs, attrs });
  }
  for (const name of outputInfo.keys()) g.outputs.push(byName.get(name)!);
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  return { graph: g, byName, metadata };
}

function dtypeOf(code: number, name: string): DType {
  const dtype = dtypeOfOnnx(code);
  if (dtype === null) throw new Error(`ONNX graph: ${name} has element type ${code}, which hyperclip does not handle`);
  return dtype;
}

function described(v: ValueInfo): { dtype: DType; shape: number[]; batchAxis: number | null } {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  const batchAxis = dims.findIndex((d) => d.dimParam === 'batch');
  return {
    dtype: dtypeOf(v.type?.tensorType?.elemType ?? 0, v.name),
    shape: dims.map((d) => (d.dimParam ? PLACEHOLDER_BATCH : Number(d.dimValue ?? 0))),
    batchAxis: batchAxis < 0 ? null : batchAxis,
  };
}

function tensorBytes(t: InstanceType<typeof onnx.TensorProto>): Uint8Array {
  if (t.rawData && t.rawData.length > 0) return Uint8Array.from(t.rawData);
  if (t.floatData && t.floatData.length > 0) return new Uint8Array(Float32Array.from(t.floatData).buffer);
  if (t.int64Data && t.int64Data.length > 0) return new Uint8Array(BigInt64Array.from(t.int64Data, (v) => BigInt(v.toString())).buffer);
  if (t.int32Data && t.int32Data.length > 0) return new Uint8Array(Int32Array.from(t.int32Data).buffer);
  return new Uint8Array(0);
}

function attrOf(a: InstanceType<typeof onnx.AttributeProto>): Attr {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT: return int(Number(a.i));
    case T.FLOAT: return float(a.f);
    case T.INTS: return ints(a.ints.map(Number));
    case T.FLOATS: return { type: 'floats', value: [...a.floats] };
    case T.STRING: return str(new TextDecoder().decode(a.s));
    default: throw new Error(`ONNX graph: attribute ${a.name} has a type (${a.type}) hyperclip does not read`);
  }
}
