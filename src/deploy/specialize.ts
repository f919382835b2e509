// Specialising the conditioned image encoder without libtorch: its norm
// parameter inputs become constants, the class embeddings become the last
// layer (with the learned scale and bias), and the conv folding pass puts
// the generated norm parameters into the convolutions. The result is the
// same classifier generateClassifier traces, built from ONNX files only.
import { foldConvAffine } from './onnx/fold-conv.js';
import { int, type GraphBuilder, type Value } from './onnx/graph.js';
import { loadGraph } from './onnx/load.js';
import { serializeGraph } from './onnx/serialize.js';
import { classifierMetadataProps, type ClassifierMetadata } from './metadata.js';
import { IMAGE_EMBEDDINGS } from './io-names.js';

export interface Specialization {
  /** [K * E] row-major, L2-normalised. */
  classEmbeddings: Float32Array;
  /** Generated [1, C] scale and shift by the encoder's input names (NAME.scale, NAME.shift). */
  normInputs: Map<string, Float32Array>;
  logitScale: number;
  logitBias: number;
  metadata: ClassifierMetadata;
}

export function specializeEncoder(encoderBytes: Uint8Array, spec: Specialization): Uint8Array {
  const { graph: g, byName } = loadGraph(encoderBytes);
  const substitutes = new Map<Value, Value>();
  for (const [name, data] of spec.normInputs) {
    const input = byName.get(name);
    if (input === undefined || !g.inputs.includes(input)) throw new Error(`the encoder has no input ${name}: it does not match the generator`);
    substitutes.set(input, g.addInitializer(`generated.${name}`, 'float32', input.shape, data));
    g.inputs.splice(g.inputs.indexOf(input), 1);
  }
  if (g.inputs.length !== 1) throw new Error(`after substituting the norm parameters the encoder still takes ${g.inputs.map((v) => v.name).join(', ')}`);
  replaceUses(g, substitutes);
  foldConstantReshapes(g);
  appendHead(g, spec);
  foldConvAffine(g);
  return serializeGraph(g, { metadata: classifierMetadataProps(spec.metadata), docString: `hyperclip classifier for ${spec.metadata.classNames.length} classes` });
}

function replaceUses(g: GraphBuilder, substitutes: Map<Value, Value>): void {
  for (const node of g.nodes) node.inputs = node.inputs.map((v) => (v === null ? null : substitutes.get(v) ?? v));
}

/** Reshape of a constant by a constant shape is the same bytes under new dims. */
function foldConstantReshapes(g: GraphBuilder): void {
  const substitutes = new Map<Value, Value>();
  for (const node of g.nodes) {
    node.inputs = node.inputs.map((v) => (v === null ? null : substitutes.get(v) ?? v));
    const [data, shape] = node.inputs;
    if (node.opType !== 'Reshape' || !data || !shape || !g.isInitializer(data) || !g.isInitializer(shape)) continue;
    const target = Array.from(new BigInt64Array(g.bytesOf(shape).slice().buffer), Number).map((d, i) => (d === 0 ? data.shape[i]! : d));
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const numel = data.shape.reduce((a, b) => a * b, 1);
    const dims = target.map((d) => (d === -1 ? numel / known : d));
    substitutes.set(node.outputs[0]!, g.addInitializer(`${data.name}_reshaped`, data.dtype, dims, g.bytesOf(data)));
  }
  g.nodes.splice(0, g.nodes.length, ...g.nodes.filter((n) => !substitutes.has(n.outputs[0]!)));
}

/** image_embeddings [N, E] -> scale * x @ classes^T + bias -> softmax, sigmoid or logits [N, K]. */
function appendHead(g: GraphBuilder, spec: Specialization): void {
  const embeddings = g.outputs.find((v) => v.name === IMAGE_EMBEDDINGS);
  if (embeddings === undefined) throw new Error(`the encoder has no ${IMAGE_EMBEDDINGS} output: export it with exportConditionedEncoder`);
  const classes = spec.metadata.classNames.length;
  const dim = spec.classEmbeddings.length / classes;
  if (!Number.isInteger(dim) || dim !== embeddings.shape[1]) {
    throw new Error(`class embeddings of ${spec.classEmbeddings.length} values do not fit ${classes} classes of dimension ${embeddings.shape[1]}`);
  }
  const transposed = new Float32Array(dim * classes);
  for (let k = 0; k < classes; k++) for (let d = 0; d < dim; d++) transposed[d * classes + k] = spec.classEmbeddings[k * dim + d]!;
  const out = { dtype: 'float32' as const, shape: [embeddings.shape[0]!, classes], batchAxis: 0 };
  const similarities = g.node('MatMul', [embeddings, g.addInitializer('class_embeddings_t', 'float32', [dim, classes], transposed)], {}, out);
  const logits = g.node('Add', [g.node('Mul', [similarities, g.scalar(spec.logitScale, 'float32')], {}, out), g.scalar(spec.logitBias, 'float32')], {}, out);
  const kind = spec.metadata.output;
  const head = kind === 'softmax' ? g.node('Softmax', [logits], { axis: int(-1) }, out) : kind === 'sigmoid' ? g.node('Sigmoid', [logits], {}, out) : logits;
  g.outputs.splice(0, g.outputs.length, head);
  g.rename(head, kind === 'logits' ? 'logits' : 'probabilities');
}
