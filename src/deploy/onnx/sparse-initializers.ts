// Pruned ONNX initializers stored so the file shrinks, in plain ONNX that
// any runtime loads: a weight W with many zeros becomes two initializers,
// its bit mask (UINT8, 1 bit per weight, LSB first) and its kept values
// after a leading 0 (FLOAT [kept + 1]), plus a few standard nodes (opset 17)
// that rebuild W: unpack the bits (BitShift, Mod), index = cumsum(bits) *
// bits, Gather(values, index), Reshape. Every input of these nodes is an
// initializer, so onnxruntime folds them into the dense W once, when the
// session is created: inference runs the same dense kernels as before.
// (ONNX sparse_initializer was the other option: its indices must be INT64,
// 8 bytes per kept weight, larger than the dense weight below 67% sparsity.)
// The metadata entry hyperclip.sparse records shape, kept count and CRC-32
// of each payload; checkSparseInitializers verifies them at load.
import { onnx, type ModelProto, type NodeProto, type TensorProto } from './proto.js';
import { packSparse, payloadCrc, popcount, SPARSE_METADATA_KEY, type SparseEntry } from '../../engine/sparse-bits.js';

const T = onnx.TensorProto.DataType;
const MASK = '.sparse_mask', VALUES = '.sparse_values';
const SHIFTS = 'hyperclip.sparse.shifts', TWO = 'hyperclip.sparse.two', AXIS1 = 'hyperclip.sparse.axis1', ZERO = 'hyperclip.sparse.zero', FLAT = 'hyperclip.sparse.flat';

const int64s = (name: string, values: number[]): TensorProto => ({ name, dims: [values.length], dataType: T.INT64, int64Data: values });

/** The float32 values of an initializer (raw_data or float_data). */
export function initializerFloats(t: TensorProto): Float32Array {
  if (t.dataType !== T.FLOAT) throw new Error(`initializer ${t.name} is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

export function setInitializerFloats(t: TensorProto, data: Float32Array): void {
  t.rawData = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  t.floatData = [];
}

const shrinks = (data: Float32Array): boolean => data.reduce((n, v) => n + (v === 0 ? 1 : 0), 0) * 32 > data.length + 32;

/**
 * Rewrites the named float initializers that shrink (more than 1/32 zeros)
 * as mask + values + decoding nodes, in place. Returns how many it rewrote.
 */
export function encodeSparseInitializers(model: ModelProto, names: Iterable<string>): number {
  const graph = model.graph!;
  const wanted = new Set(names);
  const entries: Record<string, SparseEntry> = {};
  const kept: TensorProto[] = [];
  const added: TensorProto[] = [];
  const decoders: NodeProto[] = [];
  for (const init of graph.initializer ?? []) {
    const data = wanted.has(init.name!) && init.dataType === T.FLOAT ? initializerFloats(init) : null;
    if (data === null || !shrinks(data)) {
      kept.push(init);
      continue;
    }
    const { mask, values } = packSparse(data);
    const padded = new Float32Array(values.length + 1);
    padded.set(values, 1);
    const name = init.name!;
    const shape = (init.dims ?? []).map(Number);
    entries[name] = { shape, kept: values.length, crc32: payloadCrc(mask, values) };
    added.push({ name: name + MASK, dims: [mask.length], dataType: T.UINT8, rawData: mask });
    added.push({ name: name + VALUES, dims: [padded.length], dataType: T.FLOAT, rawData: new Uint8Array(padded.buffer) });
    added.push(int64s(`${name}.sparse_numel`, [data.length]), int64s(`${name}.sparse_shape`, shape));
    decoders.push(...decodeNodes(name));
  }
  if (decoders.length === 0) return 0;
  added.push({ name: SHIFTS, dims: [1, 8], dataType: T.UINT8, rawData: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]) });
  added.push({ name: TWO, dims: [], dataType: T.UINT8, rawData: Uint8Array.from([2]) });
  added.push(int64s(AXIS1, [1]), { name: ZERO, dims: [], dataType: T.INT64, int64Data: [0] }, int64s(FLAT, [-1]), int64s(`${ZERO}s`, [0]));
  graph.initializer = [...kept, ...added];
  graph.node = [...decoders, ...(graph.node ?? [])];
  const props = (model.metadataProps ?? []).filter((p) => p.key !== SPARSE_METADATA_KEY);
  model.metadataProps = [...props, { key: SPARSE_METADATA_KEY, value: JSON.stringify(entries) }];
  return Object.keys(entries).length;
}

function decodeNodes(name: string): NodeProto[] {
  const v = (step: string) => `${name}.sparse_${step}`;
  const node = (opType: string, input: string[], output: string, attribute: NodeProto['attribute'] = []): NodeProto =>
    ({ name: `${output}_node`, opType, input, output: [output], attribute });
  return [
    node('Unsqueeze', [name + MASK, AXIS1], v('bytes')), // [B, 1]
    node('BitShift', [v('bytes'), SHIFTS], v('shifted'), [{ name: 'direction', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('RIGHT') }]), // [B, 8]
    node('Mod', [v('shifted'), TWO], v('bits8')), // [B, 8] of 0/1
    node('Reshape', [v('bits8'), FLAT], v('bitsflat')), // [8B]
    node('Slice', [v('bitsflat'), `${ZERO}s`, v('numel')], v('bitsu8')), // [numel]
    node('Cast', [v('bitsu8')], v('bits'), [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.INT64 }]),
    node('CumSum', [v('bits'), ZERO], v('rank')), // k for the k-th kept weight
    node('Mul', [v('rank'), v('bits')], v('index')), // 0 (the leading zero value) where pruned
    node('Gather', [name + VALUES, v('index')], v('flat'), [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
    node('Reshape', [v('flat'), v('shape')], name),
  ];
}

/** Checks every sparse payload of an ONNX model against its hyperclip.sparse record; throws one clear line. */
export function checkSparseInitializers(model: ModelProto, source: string): void {
  const text = (model.metadataProps ?? []).find((p) => p.key === SPARSE_METADATA_KEY)?.value;
  if (text === undefined || text === null) return;
  const corrupt = (name: string, why: string): never => {
    throw new Error(`${source}: the sparse weights of ${name} are corrupt (${why}); prune or generate the classifier again`);
  };
  let entries: Record<string, SparseEntry>;
  try {
    entries = JSON.parse(text);
  } catch {
    throw new Error(`${source}: the ${SPARSE_METADATA_KEY} metadata is not valid JSON; prune or generate the classifier again`);
  }
  const inits = new Map((model.graph?.initializer ?? []).map((t) => [t.name, t]));
  for (const [name, e] of Object.entries(entries)) {
    const maskInit = inits.get(name + MASK), valuesInit = inits.get(name + VALUES);
    if (!maskInit || !valuesInit) corrupt(name, 'its mask or values are missing');
    const numel = e.shape.reduce((a, b) => a * b, 1);
    const mask = new Uint8Array(maskInit!.rawData ?? []);
    if (mask.length !== Math.ceil(numel / 8)) corrupt(name, `the mask should hold ${Math.ceil(numel / 8)} bytes, it holds ${mask.length}`);
    const padded = initializerFloats(valuesInit!);
    if (padded.length !== e.kept + 1) corrupt(name, `${padded.length - 1} values stored, ${e.kept} expected`);
    if (popcount(mask) !== e.kept) corrupt(name, `the mask keeps ${popcount(mask)} weights, ${e.kept} expected`);
    if (payloadCrc(mask, padded.subarray(1)) !== e.crc32) corrupt(name, 'CRC-32 mismatch');
  }
}

export const decodeModel = (bytes: Uint8Array): ModelProto => onnx.ModelProto.decode(bytes);
export const encodeModel = (model: ModelProto): Uint8Array => onnx.ModelProto.encode(model).finish();
