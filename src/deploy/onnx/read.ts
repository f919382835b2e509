// Reading an ONNX file's header: metadata_props and the graph's input and
// output names and shapes. Pure protobuf, so it works in Node and browsers.
import { onnx, dtypeOfOnnx } from './proto.js';
import type { DType } from '../../engine/dtype.js';

export interface OnnxValueInfo {
  name: string;
  dtype: DType | null;
  /** Sizes, or the symbolic name of a dynamic axis ("batch"). */
  dims: (number | string)[];
}

export interface OnnxInfo {
  producerName: string;
  opset: number;
  metadata: Record<string, string>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export function readOnnxInfo(bytes: Uint8Array): OnnxInfo {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`not an ONNX model (${(err as Error).message}); give a .onnx file written by hyperclip or another ONNX exporter`);
  }
  if (!model.graph) throw new Error('not an ONNX model: it has no graph');
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const info = (v: InstanceType<typeof onnx.ValueInfoProto>): OnnxValueInfo => ({
    name: v.name,
    dtype: dtypeOfOnnx(v.type?.tensorType?.elemType ?? 0),
    dims: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))),
  });
  const opset = (model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0;
  return {
    producerName: model.producerName,
    opset: Number(opset),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    // Older IRs list initializers among the inputs; those are not things to feed.
    inputs: (model.graph.input ?? []).filter((v) => !initializers.has(v.name)).map((v) => info(v as InstanceType<typeof onnx.ValueInfoProto>)),
    outputs: (model.graph.output ?? []).map((v) => info(v as InstanceType<typeof onnx.ValueInfoProto>)),
  };
}
