// A reader of TensorFlow Lite model files (FlatBuffers, schema
// tensorflow/lite/schema/schema.fbs), enough for the ImageNet-pretrained
// MobileNets: tensors with their weights and quantization, and the operator
// list with the options of the ops those networks use.
//
// The accessors are hand-written over flatbuffers' ByteBuffer rather than
// generated: we need a handful of tables, and ByteBuffer reads past the end
// silently (as zeros), so every offset is checked here before it is followed.
import { ByteBuffer } from 'flatbuffers';

export type TfliteType = 'float32' | 'float16' | 'int32' | 'uint8' | 'int64' | 'bool' | 'int16' | 'int8';
export type TflitePadding = 'SAME' | 'VALID';
export type TfliteActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

/** real = scale * (q - zeroPoint); one entry per tensor, or one per index of dimension `axis`. */
export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  axis: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: TfliteType;
  /** The constant's bytes (little-endian, row-major), null for activations. A view into the file's bytes. */
  data: Uint8Array | null;
  quantization: TfliteQuantization | null;
}

export interface TfliteConvOptions {
  padding: TflitePadding;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  activation: TfliteActivation;
}
export interface TfliteDepthwiseOptions extends TfliteConvOptions {
  depthMultiplier: number;
}
export interface TflitePoolOptions {
  padding: TflitePadding;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  activation: TfliteActivation;
}

/** The op and its options, typed per op: ops without options read here have options null. */
export type TfliteOp =
  | { opcode: 'CONV_2D'; options: TfliteConvOptions }
  | { opcode: 'DEPTHWISE_CONV_2D'; options: TfliteDepthwiseOptions }
  | { opcode: 'AVERAGE_POOL_2D' | 'MAX_POOL_2D'; options: TflitePoolOptions }
  | { opcode: 'ADD' | 'MUL' | 'FULLY_CONNECTED'; options: { activation: TfliteActivation } }
  | { opcode: 'SOFTMAX'; options: { beta: number } }
  | { opcode: TfliteOtherOpcode; options: null };
/** Inputs and outputs are tensor indices; -1 marks an omitted optional input. */
export type TfliteOperator = { inputs: number[]; outputs: number[] } & TfliteOp;
/** Builtin codes without a name here read as BUILTIN_<code>. */
export type TfliteOtherOpcode = typeof OTHER_OPCODES[keyof typeof OTHER_OPCODES] | `BUILTIN_${number}`;

export interface TfliteModel {
  /** Schema version (3 for all current files). */
  version: number;
  tensors: TfliteTensor[];
  /** In execution order. */
  operators: TfliteOperator[];
  /** Tensor indices of the graph's inputs and outputs. */
  inputs: number[];
  outputs: number[];
}

// Enum values of schema.fbs (BuiltinOperator, TensorType, the BuiltinOptions union).
const OPTION_OPCODES = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 9: 'FULLY_CONNECTED',
  17: 'MAX_POOL_2D', 18: 'MUL', 25: 'SOFTMAX',
} as const;
const OTHER_OPCODES = {
  2: 'CONCATENATION', 6: 'DEQUANTIZE', 14: 'LOGISTIC', 19: 'RELU', 21: 'RELU6', 22: 'RESHAPE', 34: 'PAD',
  40: 'MEAN', 43: 'SQUEEZE', 114: 'QUANTIZE', 117: 'HARD_SWISH',
} as const;
const OPCODE_NAMES: Record<number, string> = { ...OPTION_OPCODES, ...OTHER_OPCODES };
/** Element sizes in bytes, by TensorType; the others (string, complex, int4, ...) are refused. */
const TYPES: Record<number, [TfliteType, number]> = {
  0: ['float32', 4], 1: ['float16', 2], 2: ['int32', 4], 3: ['uint8', 1], 4: ['int64', 8], 6: ['bool', 1], 7: ['int16', 2], 9: ['int8', 1],
};
const ACTIVATIONS: TfliteActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];
const OPTIONS_TYPE = { conv: 1, depthwise: 2, pool: 5, fullyConnected: 8, softmax: 9, add: 11, mul: 21 } as const;

/** Bounds-checked access to the file; every error names the source. */
class Reader {
  readonly bb: ByteBuffer;
  constructor(readonly bytes: Uint8Array, readonly source: string) {
    this.bb = new ByteBuffer(bytes);
  }

  fail(message: string): never {
    throw new Error(`${this.source}: ${message}`);
  }

  need(pos: number, size: number, what: string): void {
    if (pos >= 0 && size >= 0 && pos + size <= this.bytes.length) return;
    this.fail(`${what} at byte ${pos} (${size} bytes) lies outside the file (${this.bytes.length} bytes): truncated or not a TFLite file`);
  }

  /** A table with no fields present: every read gives the schema default. */
  empty(what: string): Table {
    return new Table(this, 0, 0, 0, 0, what);
  }

  table(pos: number, what: string): Table {
    this.need(pos, 4, what);
    const vtable = pos - this.bb.readInt32(pos);
    this.need(vtable, 4, `${what} vtable`);
    const vtableSize = this.bb.readUint16(vtable);
    const objectSize = this.bb.readUint16(vtable + 2);
    this.need(vtable, vtableSize, `${what} vtable`);
    this.need(pos, objectSize, what);
    return new Table(this, pos, vtable, vtableSize, objectSize, what);
  }
}

/** One FlatBuffers table; fields are addressed by their index in schema.fbs. */
class Table {
  constructor(private readonly r: Reader, private readonly pos: number, private readonly vtable: number,
    private readonly vtableSize: number, private readonly objectSize: number, readonly what: string) {}

  /** Absolute position of a field's value, 0 when absent (so the schema default applies). */
  private at(field: number, size: number): number {
    const slot = 4 + 2 * field;
    const offset = slot + 2 <= this.vtableSize ? this.r.bb.readUint16(this.vtable + slot) : 0;
    if (offset === 0) return 0;
    if (offset + size > this.objectSize) this.r.fail(`${this.what}: field ${field} lies outside its table`);
    return this.pos + offset;
  }

  int8(field: number, fallback = 0): number {
    const p = this.at(field, 1);
    return p ? this.r.bb.readInt8(p) : fallback;
  }
  uint8(field: number, fallback = 0): number {
    const p = this.at(field, 1);
    return p ? this.r.bb.readUint8(p) : fallback;
  }
  int32(field: number, fallback = 0): number {
    const p = this.at(field, 4);
    return p ? this.r.bb.readInt32(p) : fallback;
  }
  uint32(field: number, fallback = 0): number {
    const p = this.at(field, 4);
    return p ? this.r.bb.readUint32(p) : fallback;
  }
  float32(field: number, fallback = 0): number {
    const p = this.at(field, 4);
    return p ? this.r.bb.readFloat32(p) : fallback;
  }
  uint64(field: number): number {
    const p = this.at(field, 8);
    return p ? Number(this.r.bb.readUint64(p)) : 0;
  }

  /** Follows an offset field: the referenced object's position, 0 when absent. */
  private ref(field: number): number {
    const p = this.at(field, 4);
    return p ? p + this.r.bb.readUint32(p) : 0;
  }

  table(field: number, what: string): Table | null {
    const p = this.ref(field);
    return p ? this.r.table(p, `${this.what} ${what}`) : null;
  }

  /** A vector's first element and length, after checking it fits in the file. */
  private vector(field: number, elementSize: number, what: string): { start: number; length: number } | null {
    const p = this.ref(field);
    if (!p) return null;
    this.r.need(p, 4, `${this.what} ${what}`);
    const length = this.r.bb.readUint32(p);
    this.r.need(p + 4, length * elementSize, `${this.what} ${what}`);
    return { start: p + 4, length };
  }

  private numbers(field: number, size: number, what: string, read: (p: number) => number): number[] {
    const v = this.vector(field, size, what);
    return v ? Array.from({ length: v.length }, (_, i) => read(v.start + size * i)) : [];
  }
  int32s(field: number, what: string): number[] {
    return this.numbers(field, 4, what, (p) => this.r.bb.readInt32(p));
  }
  float32s(field: number, what: string): number[] {
    return this.numbers(field, 4, what, (p) => this.r.bb.readFloat32(p));
  }
  int64s(field: number, what: string): number[] {
    return this.numbers(field, 8, what, (p) => Number(this.r.bb.readInt64(p)));
  }

  bytes(field: number, what: string): Uint8Array | null {
    const v = this.vector(field, 1, what);
    return v ? this.r.bytes.subarray(v.start, v.start + v.length) : null;
  }

  string(field: number, what: string): string {
    const bytes = this.bytes(field, what);
    return bytes ? new TextDecoder().decode(bytes) : '';
  }

  tables(field: number, what: string): Table[] {
    const v = this.vector(field, 4, what);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => {
      const p = v.start + 4 * i;
      return this.r.table(p + this.r.bb.readUint32(p), `${what}[${i}]`);
    });
  }
}

/**
 * Reads a .tflite file's single subgraph. `source` (e.g. the file name) starts
 * every error message. Tensor data are views into `bytes`, not copies.
 */
export function readTflite(bytes: Uint8Array, source = 'TFLite model'): TfliteModel {
  const r = new Reader(bytes, source);
  if (bytes.length < 8) r.fail(`not a TFLite file: ${bytes.length} bytes, too short for a FlatBuffers header`);
  const identifier = Array.from(bytes.subarray(4, 8), (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
  if (identifier !== 'TFL3') r.fail(`not a TFLite file: file identifier "${identifier}", expected "TFL3"`);
  const model = r.table(r.bb.readUint32(0), 'model');
  // Codes above 127 live only in builtin_code; older files set only the int8 deprecated_builtin_code.
  const opcodes = model.tables(1, 'operator_codes').map((c) => Math.max(c.int8(0), c.int32(3)));
  const subgraphs = model.tables(2, 'subgraphs');
  if (subgraphs.length !== 1) r.fail(`expected 1 subgraph, found ${subgraphs.length}`);
  const buffers = model.tables(4, 'buffers');
  const graph = subgraphs[0]!;
  const tensors = graph.tables(0, 'tensors').map((t, i) => readTensor(r, t, i, buffers));
  const checkIndices = (indices: number[], what: string): number[] => {
    const bad = indices.find((i) => i < -1 || i >= tensors.length);
    if (bad !== undefined) r.fail(`${what} refers to tensor ${bad}, but there are ${tensors.length}`);
    return indices;
  };
  const operators = graph.tables(3, 'operators').map((op, i): TfliteOperator => {
    const index = op.uint32(0);
    if (index >= opcodes.length) r.fail(`operator ${i} has opcode index ${index}, but there are ${opcodes.length} operator codes`);
    const inputs = checkIndices(op.int32s(1, 'inputs'), `operator ${i}`);
    const outputs = checkIndices(op.int32s(2, 'outputs'), `operator ${i}`);
    return { inputs, outputs, ...readOptions(r, op, opcodes[index]!, i) };
  });
  return {
    version: model.uint32(0),
    tensors,
    operators,
    inputs: checkIndices(graph.int32s(1, 'inputs'), 'the subgraph inputs'),
    outputs: checkIndices(graph.int32s(2, 'outputs'), 'the subgraph outputs'),
  };
}

function readTensor(r: Reader, t: Table, index: number, buffers: Table[]): TfliteTensor {
  const name = t.string(3, 'name');
  const label = `tensor ${index} "${name}"`;
  const shape = t.int32s(0, 'shape');
  if (shape.some((d) => d < 0)) r.fail(`${label} has a negative dimension in shape [${shape}]`);
  const code = t.int8(1);
  const known = TYPES[code];
  if (!known) r.fail(`${label} has tensor type ${code}, which is not supported (expected one of ${Object.values(TYPES).map(([n]) => n).join(', ')})`);
  const [type, elementSize] = known;
  const bufferIndex = t.uint32(2);
  if (bufferIndex >= buffers.length) r.fail(`${label} refers to buffer ${bufferIndex}, but there are ${buffers.length}`);
  const data = bufferData(r, buffers[bufferIndex]!);
  const needed = shape.reduce((a, b) => a * b, 1) * elementSize;
  if (data && data.length !== needed) {
    r.fail(`${label} of shape [${shape}] and type ${type} needs ${needed} bytes, but buffer ${bufferIndex} holds ${data.length}`);
  }
  return { index, name, shape, type, data, quantization: readQuantization(r, t.table(4, 'quantization'), shape, label) };
}

function bufferData(r: Reader, buffer: Table): Uint8Array | null {
  // Files over 2 GB keep data after the FlatBuffer, addressed by offset and size (offset 1 is a placeholder).
  const offset = buffer.uint64(1);
  if (offset > 1) {
    const size = buffer.uint64(2);
    r.need(offset, size, `${buffer.what} data`);
    return size ? r.bytes.subarray(offset, offset + size) : null;
  }
  const data = buffer.bytes(0, 'data');
  return data && data.length > 0 ? data : null;
}

function readQuantization(r: Reader, q: Table | null, shape: number[], label: string): TfliteQuantization | null {
  if (!q) return null;
  const scale = q.float32s(2, 'scale');
  if (scale.length === 0) return null; // min/max only, as some float files record
  const zeroPoint = q.int64s(3, 'zero_point');
  const axis = q.int32(6);
  if (zeroPoint.length !== scale.length && zeroPoint.length !== 0) {
    r.fail(`${label} has ${scale.length} quantization scales but ${zeroPoint.length} zero points`);
  }
  if (scale.length > 1 && shape[axis] !== scale.length) {
    r.fail(`${label} has ${scale.length} quantization scales along axis ${axis} of shape [${shape}]`);
  }
  return { scale, zeroPoint: zeroPoint.length ? zeroPoint : scale.map(() => 0), axis };
}

function readOptions(r: Reader, op: Table, code: number, index: number): TfliteOp {
  const opcode = OPCODE_NAMES[code] ?? `BUILTIN_${code}`;
  const label = `operator ${index} (${opcode})`;
  const options = (expected: number): Table => {
    const found = op.uint8(3);
    // Absent options leave every field at its schema default.
    if (found === 0) return r.empty(`${label} options`);
    if (found !== expected) r.fail(`${label} has builtin options of union type ${found}, expected ${expected}`);
    return op.table(4, 'builtin_options') ?? r.empty(`${label} options`);
  };
  const activation = (t: Table, field: number): TfliteActivation =>
    ACTIVATIONS[t.int8(field)] ?? r.fail(`${label} has unknown fused activation ${t.int8(field)}`);
  const padding = (t: Table): TflitePadding => (t.int8(0) === 1 ? 'VALID' : 'SAME');
  switch (opcode) {
    case 'CONV_2D': {
      const t = options(OPTIONS_TYPE.conv);
      return { opcode, options: { padding: padding(t), strideW: t.int32(1), strideH: t.int32(2), activation: activation(t, 3), dilationW: t.int32(4, 1), dilationH: t.int32(5, 1) } };
    }
    case 'DEPTHWISE_CONV_2D': {
      const t = options(OPTIONS_TYPE.depthwise);
      return {
        opcode,
        options: { padding: padding(t), strideW: t.int32(1), strideH: t.int32(2), depthMultiplier: t.int32(3), activation: activation(t, 4), dilationW: t.int32(5, 1), dilationH: t.int32(6, 1) },
      };
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const t = options(OPTIONS_TYPE.pool);
      return { opcode, options: { padding: padding(t), strideW: t.int32(1), strideH: t.int32(2), filterW: t.int32(3), filterH: t.int32(4), activation: activation(t, 5) } };
    }
    case 'ADD':
    case 'MUL':
    case 'FULLY_CONNECTED': {
      const type = opcode === 'ADD' ? OPTIONS_TYPE.add : opcode === 'MUL' ? OPTIONS_TYPE.mul : OPTIONS_TYPE.fullyConnected;
      return { opcode, options: { activation: activation(options(type), 0) } };
    }
    case 'SOFTMAX':
      return { opcode, options: { beta: options(OPTIONS_TYPE.softmax).float32(0) } };
    default:
      return { opcode: opcode as TfliteOtherOpcode, options: null };
  }
}

/** The tensor's real values: scale * (q - zeroPoint) for quantized integers (per tensor or per axis), float32 as stored. */
export function dequantize(t: TfliteTensor): Float32Array {
  const label = `tensor ${t.index} "${t.name}"`;
  if (!t.data) throw new Error(`${label} has no data to dequantize (an activation, not a constant)`);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const read: Partial<Record<TfliteType, (i: number) => number>> = {
    float32: (i) => view.getFloat32(4 * i, true),
    uint8: (i) => view.getUint8(i),
    int8: (i) => view.getInt8(i),
    int32: (i) => view.getInt32(4 * i, true),
  };
  const get = read[t.type];
  if (!get) throw new Error(`${label}: cannot dequantize type ${t.type} (expected float32, uint8, int8 or int32)`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const q = t.quantization;
  if (t.type === 'float32') {
    for (let i = 0; i < n; i++) out[i] = get(i);
    return out;
  }
  if (!q) throw new Error(`${label} is ${t.type} without quantization parameters`);
  // Per-axis: element i belongs to channel floor(i / inner) mod shape[axis].
  const inner = t.shape.slice(q.axis + 1).reduce((a, b) => a * b, 1);
  const channels = q.scale.length;
  for (let i = 0; i < n; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    out[i] = q.scale[c]! * (get(i) - q.zeroPoint[c]!);
  }
  return out;
}
