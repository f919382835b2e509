// The ONNX graph under construction: values, nodes and initializers, plus
// the one piece of symbolic shape knowledge export needs: which axis of a
// value scales with the dynamic batch (see batch.ts).
import type { DType, TypedArray } from '../../engine/dtype.js';

/** A value in the graph. Its name is resolved when the graph is serialised, so outputs can be renamed. */
export class Value {
  constructor(
    public name: string,
    readonly dtype: DType,
    readonly shape: number[],
    /** The axis whose size is the dynamic batch times a constant, or null for a batch-independent value. */
    readonly batchAxis: number | null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
}

export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string };

export const int = (value: number): Attr => ({ type: 'int', value });
export const float = (value: number): Attr => ({ type: 'float', value });
export const ints = (value: number[]): Attr => ({ type: 'ints', value });
export const str = (value: string): Attr => ({ type: 'string', value });

export interface Node {
  opType: string;
  /** null marks an omitted optional input (serialised as ""). */
  inputs: (Value | null)[];
  outputs: Value[];
  attrs: Record<string, Attr>;
}

export interface Initializer {
  value: Value;
  bytes: Uint8Array;
}

export interface GraphIO {
  value: Value;
}

const bytesOf = (data: TypedArray): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  private readonly usedNames = new Set<string>();
  private readonly scalarCache = new Map<string, Value>();
  private readonly computed = new Set<Value>();
  private readonly initializerByValue = new Map<Value, Initializer>();
  private counter = 0;

  /** The traced size of the dynamic batch axis, or null when every input is static. */
  constructor(readonly batchSize: number | null) {}

  /** A fresh value name built from a hint ("conv2d" -> "conv2d_7"); a free hint is used as it is when asked. */
  uniqueName(hint: string, exact = false): string {
    const base = hint.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'value';
    if (exact) {
      if (this.usedNames.has(base)) throw new Error(`ONNX export: the name "${base}" is used twice; give each input and output its own name`);
      this.usedNames.add(base);
      return base;
    }
    let name = base;
    while (this.usedNames.has(name)) name = `${base}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  /** Renames a value (for graph outputs); the old name stays reserved. */
  rename(value: Value, name: string): void {
    value.name = this.uniqueName(name, true);
  }

  addInput(name: string, dtype: DType, shape: number[], batchAxis: number | null): Value {
    const value = new Value(this.uniqueName(name, true), dtype, shape, batchAxis);
    this.inputs.push(value);
    return value;
  }

  /** A constant tensor stored in the file. */
  addInitializer(hint: string, dtype: DType, shape: number[], data: TypedArray): Value {
    const value = new Value(this.uniqueName(hint), dtype, shape, null);
    const initializer = { value, bytes: bytesOf(data) };
    this.initializers.push(initializer);
    this.initializerByValue.set(value, initializer);
    return value;
  }

  /** A rank-0 constant of a dtype, shared between uses. */
  scalar(value: number, dtype: DType): Value {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    const cached = this.scalarCache.get(key);
    if (cached !== undefined) return cached;
    const made = this.addInitializer(`const_${dtype}`, dtype, [], scalarData(value, dtype));
    this.scalarCache.set(key, made);
    return made;
  }

  /** A 1-D int64 constant (shapes, axes, pads). */
  int64s(values: (number | bigint)[], hint = 'const_i64'): Value {
    const data = BigInt64Array.from(values, (v) => (typeof v === 'bigint' ? v : BigInt(v)));
    return this.addInitializer(hint, 'int64', [values.length], data);
  }

  /** Adds a node with one output described by dtype, shape and batch axis, and returns that output. */
  node(opType: string, inputs: (Value | null)[], attrs: Record<string, Attr>, out: OutSpec, hint?: string): Value {
    return this.nodeMany(opType, inputs, attrs, [out], hint)[0]!;
  }

  nodeMany(opType: string, inputs: (Value | null)[], attrs: Record<string, Attr>, outs: OutSpec[], hint?: string): Value[] {
    const outputs = outs.map((o) => new Value(this.uniqueName(hint ?? opType.toLowerCase()), o.dtype, o.shape, o.batchAxis));
    this.nodes.push({ opType, inputs, outputs, attrs });
    for (const o of outputs) this.computed.add(o);
    return outputs;
  }

  isInitializer(value: Value): boolean {
    return this.initializerByValue.has(value);
  }

  /** The raw little-endian bytes of an initializer. */
  bytesOf(value: Value): Uint8Array {
    const init = this.initializerByValue.get(value);
    if (init === undefined) throw new Error(`ONNX graph: ${value.name} is not a constant`);
    return init.bytes;
  }

  /** The float32 contents of an initializer, or null for other values and dtypes. */
  floatsOf(value: Value): Float32Array | null {
    const init = this.initializerByValue.get(value);
    if (init === undefined || value.dtype !== 'float32') return null;
    return new Float32Array(init.bytes.buffer.slice(init.bytes.byteOffset, init.bytes.byteOffset + init.bytes.byteLength));
  }

  /** Adds a node built elsewhere (a graph read from a file); its output names are reserved as they are. */
  addNode(node: Node): void {
    for (const o of node.outputs) {
      this.uniqueName(o.name, true);
      this.computed.add(o);
    }
    this.nodes.push(node);
  }

  /** Adds an initializer under its exact name (a graph read from a file). */
  addNamedInitializer(name: string, dtype: DType, shape: number[], bytes: Uint8Array): Value {
    const value = new Value(this.uniqueName(name, true), dtype, shape, null);
    const initializer = { value, bytes };
    this.initializers.push(initializer);
    this.initializerByValue.set(value, initializer);
    return value;
  }

  /** Whether a value is computed by a node (as opposed to an input or initializer). */
  isComputed(value: Value): boolean {
    return this.computed.has(value);
  }
}

export interface OutSpec {
  dtype: DType;
  shape: number[];
  batchAxis: number | null;
}

export const INT64_MAX = 9223372036854775807n;

function scalarData(value: number, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.of(value);
    case 'float64': return Float64Array.of(value);
    case 'int64': return BigInt64Array.of(BigInt(Math.trunc(value)));
    case 'int32': return Int32Array.of(value);
    case 'uint8': return Uint8Array.of(value);
    case 'bool': return Uint8Array.of(value ? 1 : 0);
    default: throw new Error(`ONNX export: cannot make a ${dtype} constant from a number; convert the tensor to float32 first`);
  }
}
