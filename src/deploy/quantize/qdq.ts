// Writes a quantization plan into the model as QDQ: each quantized weight
// becomes an int8 initializer with per-channel scales, read through a
// DequantizeLinear whose output keeps the weight's old name (so the Conv,
// Gemm or MatMul reading it is unchanged); each quantized activation gets
// QuantizeLinear -> DequantizeLinear right after its producer, and every
// reader of the activation reads the dequantized value. The file stays an
// ordinary float graph to read; onnxruntime fuses the pairs into QLinearConv,
// QLinearAdd, QGemm, ... when it loads it.
import { onnx, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { ModelGraph } from './model-graph.js';
import { quantizeBias, quantizeWeight, type ActivationParams } from './params.js';
import type { QuantizationPlan } from './plan.js';

const T = onnx.TensorProto.DataType;

const bytesOf = (data: Float32Array | Int8Array | Int32Array | Uint8Array): Uint8Array =>
  new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));

/** Rewrites the model in place; `params` holds every planned activation's scale and zero point. */
export function writeQdq(model: ModelProto, plan: QuantizationPlan, params: Map<string, ActivationParams>): void {
  const g = new ModelGraph(model);
  const graph = model.graph!;
  const names = new Set<string>([...g.initializers.keys(), ...g.producers.keys(), ...g.inputs, ...g.nodes.map((n) => n.name ?? '')]);
  let nodeCount = 0;
  const unique = (hint: string): string => {
    let name = hint;
    for (let i = 1; names.has(name); i++) name = `${hint}_${i}`;
    names.add(name);
    return name;
  };
  const added: TensorProto[] = [];
  const constant = (hint: string, dataType: number, dims: number[], data: Float32Array | Int8Array | Int32Array | Uint8Array): string => {
    const name = unique(hint);
    added.push({ name, dataType, dims, rawData: bytesOf(data) });
    return name;
  };
  // Node names as the project's serializer writes them (Conv_3): the tensor names already say what each node does.
  const node = (opType: string, input: string[], output: string[], axis?: number): NodeProto => ({
    name: unique(`${opType}_${nodeCount++}`), opType, input, output,
    attribute: axis === undefined ? [] : [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }],
  });

  // Weights and biases: int8 / int32 constants dequantized under their old names.
  const replaced = new Set<string>();
  const weightNodes: NodeProto[] = [];
  for (const w of plan.weighted) {
    const dims = g.dims(w.weight);
    const q = quantizeWeight(g.floats(w.weight)!, dims, w.axis);
    const channels = q.scales.length;
    weightNodes.push(node('DequantizeLinear', [
      constant(`${w.weight}_quantized`, T.INT8, dims, q.values),
      constant(`${w.weight}_scale`, T.FLOAT, [channels], q.scales),
      constant(`${w.weight}_zero_point`, T.INT8, [channels], new Int8Array(channels)),
    ], [w.weight], w.axis));
    replaced.add(w.weight);
    if (w.bias === null) continue;
    const b = quantizeBias(g.floats(w.bias)!, paramsOf(params, w.input).scale, q.scales);
    weightNodes.push(node('DequantizeLinear', [
      constant(`${w.bias}_quantized`, T.INT32, [channels], b.values),
      constant(`${w.bias}_scale`, T.FLOAT, [channels], b.scales),
    ], [w.bias], 0));
    replaced.add(w.bias);
  }

  // Activations: one scale / zero-point pair per tensor, reused by the tensors that share it.
  const scaleNames = new Map<string, [string, string]>();
  const scaleOf = (tensor: string): [string, string] => {
    const owner = plan.sharedWith.get(tensor) ?? tensor;
    let pair = scaleNames.get(owner);
    if (pair === undefined) {
      const p = paramsOf(params, owner);
      pair = [constant(`${owner}_scale`, T.FLOAT, [], Float32Array.of(p.scale)), constant(`${owner}_zero_point`, T.UINT8, [], Uint8Array.of(p.zeroPoint))];
      scaleNames.set(owner, pair);
    }
    return pair;
  };
  const pairsAfter = new Map<NodeProto | null, NodeProto[]>(); // null: after the graph inputs, before any node
  const dequantized = new Map<string, string>();
  for (const tensor of plan.activations) {
    const [scale, zeroPoint] = scaleOf(tensor);
    const quantizedName = unique(`${tensor}_quantized`);
    const dequantizedName = unique(`${tensor}_dequantized`);
    const producer = g.producers.get(tensor) ?? null;
    pairsAfter.set(producer, [...(pairsAfter.get(producer) ?? []),
      node('QuantizeLinear', [tensor, scale, zeroPoint], [quantizedName]),
      node('DequantizeLinear', [quantizedName, scale, zeroPoint], [dequantizedName])]);
    dequantized.set(tensor, dequantizedName);
  }
  for (const n of g.nodes) n.input = (n.input ?? []).map((name) => dequantized.get(name) ?? name);

  graph.node = [...weightNodes, ...(pairsAfter.get(null) ?? []), ...g.nodes.flatMap((n) => [n, ...(pairsAfter.get(n) ?? [])])];
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !replaced.has(t.name!)), ...added];
  graph.input = (graph.input ?? []).filter((v) => !replaced.has(v.name!));
}

function paramsOf(params: Map<string, ActivationParams>, tensor: string): ActivationParams {
  const p = params.get(tensor);
  if (p === undefined) throw new Error(`quantization: no calibrated range for ${tensor}`);
  return p;
}
