// Which tensors of a float classifier become 8-bit, decided from the graph's
// structure alone, in the shape onnxruntime fuses into integer kernels:
//  - the weight (and bias) of every Conv, Gemm and MatMul whose weight is a
//    constant: DequantizeLinear(int8 weight) feeds the node;
//  - the activation input of each of those nodes, and the outputs of nodes
//    that have integer kernels (Add, Mul, Sigmoid, average pools) or only
//    move values (Reshape, Transpose, MaxPool, ...) when a consumer can use
//    them as integers: QuantizeLinear -> DequantizeLinear after the producer.
// A ReLU or Clip right after a node takes that node's quantization point (the
// Q goes after the clamp, none between): with the range calibrated on the
// clamp's output the Q saturates exactly as the clamp does, and onnxruntime
// drops the clamp into the fused kernel. The clamp stays in the file, so a
// runtime that fuses nothing computes the same values.
// Everything else (the L2 normalisation of the embedding, the logit scale,
// softmax) stays float: it is cheap, and quantizing it would only add error.
// With floatStem, so do the layers that read the image itself (the first
// convolution) and their input: an 8-bit copy of the normalised image is a
// perturbation the float classifier already feels (measured on the shipped
// model's CIFAR-10 classifier, 500 test images: quantizing only the image
// input to uint8, everything else float, changes 5.8% of the top-1 answers),
// and the first convolution is a small share of the weights and the work.
import { ELEMENT, intAttr, ModelGraph } from './model-graph.js';
import type { ModelProto, NodeProto } from '../onnx/proto.js';

export interface WeightedNode {
  node: NodeProto;
  /** The activation the node multiplies by its weight. */
  input: string;
  weight: string;
  /** The weight's output-channel axis: per-channel scales run along it. */
  axis: number;
  /** A per-channel float bias stored as int32, or null when the node has none (or one that cannot be). */
  bias: string | null;
}

export interface PlanOptions {
  /** Leave the weighted nodes that read the image (through no other weighted node) and their input in float. */
  floatStem?: boolean;
}

export interface QuantizationPlan {
  weighted: WeightedNode[];
  /** Weighted nodes left in float by PlanOptions.floatStem. */
  floatNodes: NodeProto[];
  /** Activation tensors that get a QuantizeLinear -> DequantizeLinear pair, in graph order. */
  activations: string[];
  /** A value-moving node's output -> the tensor whose scale and zero point it reuses (what onnxruntime needs to drop its Q/DQ). */
  sharedWith: Map<string, string>;
}

/** Nodes onnxruntime runs as integer kernels when Q/DQ surround every activation input and the output. */
const INTEGER_OPS = new Set(['Add', 'Mul', 'Sigmoid', 'GlobalAveragePool', 'AveragePool']);
/** Nodes that only move or select values: the output keeps the input's quantization. */
const VALUE_MOVING_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'MaxPool']);

export function planQuantization(model: ModelProto, options: PlanOptions = {}): QuantizationPlan {
  const g = new ModelGraph(model);
  const all = g.nodes.map((n) => weightedNode(g, n)).filter((w): w is WeightedNode => w !== null);
  const stem = options.floatStem ? stemNodes(g, all) : new Set<NodeProto>();
  const weighted = all.filter((w) => !stem.has(w.node));
  const weightedNodes = new Set(weighted.map((w) => w.node));
  const pinned = new Set(weighted.map((w) => w.input)); // a weighted node's input is always quantized
  const inputsOf = new Map<NodeProto, string[]>();
  for (const w of weighted) inputsOf.set(w.node, [w.input]);
  for (const node of g.nodes) {
    const inputs = integerInputs(g, node);
    if (inputs !== null) inputsOf.set(node, inputs);
  }
  // Each integer-capable node's quantization point, while it is still a candidate.
  const candidates = new Map<string, NodeProto>();
  for (const node of inputsOf.keys()) {
    const point = quantizationPoint(g, node);
    if (point !== null) candidates.set(point, node);
  }
  const quantized = (t: string): boolean => pinned.has(t) || candidates.has(t);
  const integer = (node: NodeProto): boolean => weightedNodes.has(node) || (inputsOf.get(node)?.every(quantized) ?? false);
  // Largest consistent set: drop a candidate whose producer cannot run on integers or whose consumers cannot use it, until none changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const [tensor, producer] of candidates) {
      const used = g.consumersOf(tensor).some((c) => weightedNodes.has(c) || (inputsOf.has(c) && integer(c)));
      if (pinned.has(tensor) || (integer(producer) && used)) continue;
      candidates.delete(tensor);
      changed = true;
    }
  }
  const order = new Map(g.nodes.map((n, i) => [n, i]));
  const position = (t: string): number => (g.producers.has(t) ? order.get(g.producers.get(t)!)! : -1);
  const activations = [...new Set([...pinned, ...candidates.keys()])].sort((a, b) => position(a) - position(b));
  const sharedWith = new Map<string, string>();
  for (const [tensor, producer] of candidates) {
    const input = producer.input![0]!;
    if (!VALUE_MOVING_OPS.has(producer.opType!) || producer.output![0] !== tensor || !quantized(input)) continue;
    sharedWith.set(tensor, sharedWith.get(input) ?? input);
  }
  return { weighted, floatNodes: all.filter((w) => stem.has(w.node)).map((w) => w.node), activations, sharedWith };
}

/** The weighted nodes whose input comes from the graph input through no other weighted node (only the input normalisation, say). */
function stemNodes(g: ModelGraph, weighted: WeightedNode[]): Set<NodeProto> {
  const weightedNodes = new Set(weighted.map((w) => w.node));
  const raw = new Set(g.inputs); // tensors computed from the image by unweighted nodes alone
  for (const node of g.nodes) { // graph order is topological
    if (weightedNodes.has(node)) continue;
    const inputs = (node.input ?? []).filter((name) => g.isActivation(name));
    if (inputs.length > 0 && inputs.every((name) => raw.has(name))) for (const out of node.output ?? []) raw.add(out);
  }
  return new Set(weighted.filter((w) => raw.has(w.input)).map((w) => w.node));
}

/** A Conv, Gemm or MatMul with a float constant weight used by it alone; null otherwise. */
function weightedNode(g: ModelGraph, node: NodeProto): WeightedNode | null {
  const [input, weight, bias] = node.input ?? [];
  if (input === undefined || weight === undefined || !g.isActivation(input)) return null;
  if (g.initializers.get(weight)?.dataType !== ELEMENT.FLOAT || g.consumersOf(weight).length !== 1) return null;
  const dims = g.dims(weight);
  let axis: number;
  if (node.opType === 'Conv' && dims.length >= 3) axis = 0; // [out, in / groups, ...kernel]
  else if (node.opType === 'Gemm' && dims.length === 2) axis = intAttr(node, 'transB', 0) === 1 ? 0 : 1; // [out, in] or [in, out]
  else if (node.opType === 'MatMul' && dims.length === 2) axis = 1; // [in, out]
  else return null;
  const biasDims = bias === undefined || bias === '' ? [] : g.dims(bias);
  const perChannelBias = bias !== undefined && bias !== '' && g.floats(bias) !== null && g.consumersOf(bias).length === 1 &&
    biasDims.length === 1 && biasDims[0] === dims[axis];
  return { node, input, weight, axis, bias: perChannelBias ? bias! : null };
}

/** The activation inputs of a node onnxruntime can run on integers, or null for any other node. */
function integerInputs(g: ModelGraph, node: NodeProto): string[] | null {
  const inputs = (node.input ?? []).filter((name) => name !== '');
  if (VALUE_MOVING_OPS.has(node.opType!)) return g.isActivation(inputs[0] ?? '') ? [inputs[0]!] : null;
  if (!INTEGER_OPS.has(node.opType!)) return null;
  // Add and Mul of a tensor by a constant (input normalisation, logit scale) stay float.
  return inputs.length > 0 && inputs.every((name) => g.isActivation(name)) ? inputs : null;
}

/** Where a node's output is quantized: after a ReLU/Clip that alone reads it, else the output itself; null for a graph output. */
function quantizationPoint(g: ModelGraph, node: NodeProto): string | null {
  const output = node.output?.[0];
  if (output === undefined || g.outputs.has(output)) return null;
  const users = g.consumersOf(output);
  const clamp = users.length === 1 && isClamp(g, users[0]!, output) ? users[0]! : null;
  const point = clamp === null ? output : clamp.output![0]!;
  return g.outputs.has(point) ? null : point;
}

function isClamp(g: ModelGraph, node: NodeProto, input: string): boolean {
  if (node.opType === 'Relu') return true;
  const [x, ...bounds] = node.input ?? [];
  return node.opType === 'Clip' && x === input && bounds.every((b) => b === '' || g.isInitializer(b));
}
