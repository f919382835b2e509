// The typed Tensor over a native libtorch tensor. Every operation goes
// through emit(), which wraps the native result and reports it to an active
// tracer (see trace.ts); the engine's users never touch the addon.
import { native, type Handle } from './native.js';
import { BYTES_PER_ELEMENT, dtypeCode, dtypeFromCode, dtypeOfArray, typedArrayFor, type DType, type TypedArray } from './dtype.js';
import { onScopeDepth, track } from './scope.js';
import { activeTracer, type TraceInput } from './trace.js';

export type MemoryFormat = 'contiguous' | 'channels-last';
export type Device = string; // 'cpu', 'cuda', 'cuda:1'
export type Operand = Tensor | number;

// Codes shared with native/src/ops.cc.
const UNARY = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, abs: 5, sin: 6, cos: 7, relu: 8, relu6: 9, silu: 10, gelu: 11,
  geluTanh: 12, sigmoid: 13, tanh: 14, hardswish: 15, hardsigmoid: 16, softplus: 17, logSigmoid: 18, sign: 19,
  floor: 20, round: 21, reciprocal: 22, logicalNot: 23, erf: 24, square: 25, ceil: 26, log1p: 27, expm1: 28,
} as const;
export type UnaryOp = keyof typeof UNARY;

const BINARY = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
  logicalAnd: 13, logicalOr: 14, remainder: 15,
} as const;
export type BinaryOp = keyof typeof BINARY;

const REDUCE = { sum: 0, mean: 1, amax: 2, amin: 3, logsumexp: 4, all: 5, any: 6, prod: 7 } as const;
export type ReduceOp = keyof typeof REDUCE;

const formatCode = (format: MemoryFormat): number => (format === 'channels-last' ? 1 : 0);

/** Wraps a native result as a Tensor and reports the operation to an active tracer. */
export function emit(op: string, inputs: TraceInput[], attrs: Record<string, unknown>, handle: Handle): Tensor {
  const out = new Tensor(handle);
  const tracer = activeTracer();
  if (tracer !== null) tracer.record(op, inputs, attrs, [out]);
  return out;
}

export function emitMany(op: string, inputs: TraceInput[], attrs: Record<string, unknown>, handles: Handle[]): Tensor[] {
  const outs = handles.map((h) => new Tensor(h));
  const tracer = activeTracer();
  if (tracer !== null) tracer.record(op, inputs, attrs, outs);
  return outs;
}

onScopeDepth((depth) => native().setScopeDepth(depth));

const handleOf = (x: Operand): Handle | number => (typeof x === 'number' ? x : x.handle);

let undisposed = 0;

/**
 * Tensor objects created and not yet disposed (the GC backstop may have freed
 * some of their memory, but no scope or owner did). Flat across training
 * steps when nothing leaks; the soak benchmark samples it.
 */
export const liveTensorCount = (): number => undisposed;

export class Tensor {
  private nativeHandle: Handle;
  private cachedShape: number[] | null = null;
  private cachedDtype: DType | null = null;
  private isDisposed = false;
  /** Set by Module for parameters and buffers; used for state dicts and optimiser groups. */
  role: 'parameter' | 'buffer' | null = null;
  /** A name for tracing and error messages (set for inputs and parameters). */
  name: string | null = null;

  constructor(handle: Handle) {
    this.nativeHandle = handle;
    undisposed++;
    track(this);
  }

  get handle(): Handle {
    if (this.isDisposed) throw new Error(`tensor ${this.name ?? ''} used after dispose`.replace('  ', ' '));
    return this.nativeHandle;
  }

  /** Swaps the native tensor behind this object (Module.to moves parameters this way). */
  replaceHandle(handle: Handle): void {
    const old = this.nativeHandle;
    this.nativeHandle = handle;
    this.cachedShape = null;
    this.cachedDtype = null;
    native().dispose(old);
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Called by the scopes when this tensor outlives them: its memory is then reported to V8 for the GC backstop. */
  escape(): void {
    if (!this.isDisposed) native().reportExternal(this.nativeHandle);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    undisposed--;
    native().dispose(this.nativeHandle);
  }

  // ---- metadata ----
  get shape(): number[] {
    if (this.cachedShape === null) this.cachedShape = native().shape(this.handle);
    return this.cachedShape.slice();
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    if (this.cachedDtype === null) this.cachedDtype = dtypeFromCode(native().dtype(this.handle));
    return this.cachedDtype;
  }
  get device(): Device {
    return native().meta(this.handle).device;
  }
  size(dim: number): number {
    const shape = this.shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new Error(`dimension ${dim} out of range for a tensor of shape [${shape}]`);
    return shape[d]!;
  }

  // ---- data ----
  /** A copy of the data as a typed array of the tensor's dtype (float16/bfloat16 as raw Uint16Array). */
  data(): TypedArray {
    return typedArrayFor(this.dtype, native().toBuffer(this.handle));
  }
  /** A copy of the data as plain numbers, flattened. */
  toArray(): number[] {
    const source = this.dtype === 'float16' || this.dtype === 'bfloat16' ? this.to('float32') : this;
    const data = source.data();
    if (source !== this) source.dispose();
    return Array.from(data as ArrayLike<number | bigint>, Number);
  }
  item(): number {
    return native().item(this.handle);
  }
  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype})`;
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native().requiresGrad(this.handle);
  }
  set requiresGrad(value: boolean) {
    native().setRequiresGrad(this.handle, value);
  }
  /** The accumulated gradient, as a new tensor object each call, or null. */
  get grad(): Tensor | null {
    const g = native().grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(value: Tensor | null) {
    native().setGrad(this.handle, value === null ? null : value.handle);
  }
  backward(gradient?: Tensor, retainGraph = false): void {
    native().backward(this.handle, gradient?.handle ?? null, retainGraph);
  }
  detach(): Tensor {
    return emit('detach', [this], {}, native().detach(this.handle));
  }

  // ---- elementwise ----
  unary(op: UnaryOp): Tensor {
    return emit(op, [this], {}, native().unary(UNARY[op], this.handle));
  }
  binary(op: BinaryOp, other: Operand): Tensor {
    return emit(op, [this, other], {}, native().binary(BINARY[op], this.handle, handleOf(other)));
  }
  add(other: Operand): Tensor { return this.binary('add', other); }
  sub(other: Operand): Tensor { return this.binary('sub', other); }
  mul(other: Operand): Tensor { return this.binary('mul', other); }
  div(other: Operand): Tensor { return this.binary('div', other); }
  pow(other: Operand): Tensor { return this.binary('pow', other); }
  maximum(other: Operand): Tensor { return this.binary('maximum', other); }
  minimum(other: Operand): Tensor { return this.binary('minimum', other); }
  eq(other: Operand): Tensor { return this.binary('eq', other); }
  ne(other: Operand): Tensor { return this.binary('ne', other); }
  lt(other: Operand): Tensor { return this.binary('lt', other); }
  le(other: Operand): Tensor { return this.binary('le', other); }
  gt(other: Operand): Tensor { return this.binary('gt', other); }
  ge(other: Operand): Tensor { return this.binary('ge', other); }
  neg(): Tensor { return this.unary('neg'); }
  exp(): Tensor { return this.unary('exp'); }
  log(): Tensor { return this.unary('log'); }
  sqrt(): Tensor { return this.unary('sqrt'); }
  rsqrt(): Tensor { return this.unary('rsqrt'); }
  abs(): Tensor { return this.unary('abs'); }
  relu(): Tensor { return this.unary('relu'); }
  relu6(): Tensor { return this.unary('relu6'); }
  sigmoid(): Tensor { return this.unary('sigmoid'); }
  tanh(): Tensor { return this.unary('tanh'); }
  silu(): Tensor { return this.unary('silu'); }
  gelu(): Tensor { return this.unary('gelu'); }
  square(): Tensor { return this.unary('square'); }
  clamp(min: number | null, max: number | null = null): Tensor {
    return emit('clamp', [this], { min, max }, native().clamp(this.handle, min, max));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return emit('maskedFill', [this, mask], { value }, native().maskedFill(this.handle, mask.handle, value));
  }

  // ---- reductions ----
  reduce(op: ReduceOp, dims: number | number[] | null = null, keepdim = false): Tensor {
    const d = typeof dims === 'number' ? [dims] : dims;
    return emit(op, [this], { dims: d, keepdim }, native().reduce(REDUCE[op], this.handle, d, keepdim));
  }
  sum(dims: number | number[] | null = null, keepdim = false): Tensor { return this.reduce('sum', dims, keepdim); }
  mean(dims: number | number[] | null = null, keepdim = false): Tensor { return this.reduce('mean', dims, keepdim); }
  amax(dims: number | number[] | null = null, keepdim = false): Tensor { return this.reduce('amax', dims, keepdim); }
  amin(dims: number | number[] | null = null, keepdim = false): Tensor { return this.reduce('amin', dims, keepdim); }
  logsumexp(dims: number | number[], keepdim = false): Tensor { return this.reduce('logsumexp', dims, keepdim); }
  argmax(dim: number | null = null, keepdim = false): Tensor {
    return emit('argmax', [this], { dim, keepdim }, native().argmax(this.handle, dim, keepdim, true));
  }
  argmin(dim: number | null = null, keepdim = false): Tensor {
    return emit('argmin', [this], { dim, keepdim }, native().argmax(this.handle, dim, keepdim, false));
  }
  /** [values, indices] of the k largest (or smallest) entries along dim, sorted. */
  topk(k: number, dim = -1, largest = true): [Tensor, Tensor] {
    const size = this.size(dim);
    if (!Number.isInteger(k) || k < 1 || k > size) throw new Error(`topk: k must be between 1 and ${size}, got ${k}`);
    const [values, indices] = emitMany('topk', [this], { k, dim, largest }, native().topk(this.handle, k, dim, largest));
    return [values!, indices!];
  }
  norm(p = 2, dims: number | number[] | null = null, keepdim = false): Tensor {
    const d = typeof dims === 'number' ? [dims] : dims;
    return emit('norm', [this], { p, dims: d, keepdim }, native().norm(this.handle, p, d, keepdim));
  }
  var(dims: number | number[] | null = null, unbiased = true, keepdim = false): Tensor {
    const d = typeof dims === 'number' ? [dims] : dims;
    return emit('var', [this], { dims: d, unbiased, keepdim }, native().variance(this.handle, d, unbiased, keepdim, false));
  }
  std(dims: number | number[] | null = null, unbiased = true, keepdim = false): Tensor {
    const d = typeof dims === 'number' ? [dims] : dims;
    return emit('std', [this], { dims: d, unbiased, keepdim }, native().variance(this.handle, d, unbiased, keepdim, true));
  }
  cumsum(dim: number): Tensor {
    return emit('cumsum', [this], { dim }, native().cumsum(this.handle, dim));
  }

  // ---- shape ----
  reshape(shape: number[]): Tensor {
    return emit('reshape', [this], { shape }, native().reshape(this.handle, shape));
  }
  permute(dims: number[]): Tensor {
    return emit('permute', [this], { dims }, native().permute(this.handle, dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return emit('transpose', [this], { dim0, dim1 }, native().transpose(this.handle, dim0, dim1));
  }
  /** Elements start..end (exclusive) along dim, every step-th. */
  slice(dim: number, start: number, end: number, step = 1): Tensor {
    return emit('slice', [this], { dim, start, end, step }, native().slice(this.handle, dim, start, end, step));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return this.slice(dim, start, start + length);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return emit('indexSelect', [this, index], { dim }, native().indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return emit('gather', [this, index], { dim }, native().gather(this.handle, dim, index.handle));
  }
  expand(shape: number[]): Tensor {
    return emit('expand', [this], { shape }, native().expand(this.handle, shape));
  }
  squeeze(dim: number | null = null): Tensor {
    return emit('squeeze', [this], { dim }, native().squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return emit('unsqueeze', [this], { dim }, native().unsqueeze(this.handle, dim));
  }
  contiguous(format: MemoryFormat = 'contiguous'): Tensor {
    return emit('contiguous', [this], { format }, native().contiguous(this.handle, formatCode(format)));
  }
  isContiguous(format: MemoryFormat = 'contiguous'): boolean {
    return native().isContiguous(this.handle, formatCode(format));
  }
  flatten(start = 0, end = -1): Tensor {
    return emit('flatten', [this], { start, end }, native().flatten(this.handle, start, end));
  }
  repeat(repeats: number[]): Tensor {
    return emit('repeat', [this], { repeats }, native().repeat(this.handle, repeats));
  }
  tril(diagonal = 0): Tensor {
    return emit('tril', [this], { diagonal }, native().triangle(this.handle, diagonal, false));
  }
  triu(diagonal = 0): Tensor {
    return emit('triu', [this], { diagonal }, native().triangle(this.handle, diagonal, true));
  }
  flip(dims: number[]): Tensor {
    return emit('flip', [this], { dims }, native().flip(this.handle, dims));
  }
  clone(): Tensor {
    return emit('clone', [this], {}, native().clone(this.handle));
  }
  /** Converts to a dtype, or moves to a device ('cpu', 'cuda'). */
  to(target: DType | Device): Tensor {
    const isDevice = target === 'cpu' || target.startsWith('cuda');
    const arg = isDevice ? target : dtypeCode(target as DType);
    return emit('to', [this], { target }, native().to(this.handle, arg));
  }
  matmul(other: Tensor): Tensor {
    let handle: Handle;
    try {
      handle = native().matmul(this.handle, other.handle);
    } catch (err) {
      // libtorch's message for some rank combinations is cryptic ("size mismatch, got 2, 2x2,3"): name both shapes.
      throw new Error(`matmul: cannot multiply [${this.shape}] by [${other.shape}]: ${(err as Error).message}`);
    }
    return emit('matmul', [this, other], {}, handle);
  }

  // ---- in place (never recorded by autograd or tracing) ----
  copy_(source: Tensor): this {
    native().copyInto(this.handle, source.handle);
    return this;
  }
  fill_(value: number): this {
    native().fillInPlace(this.handle, value);
    return this;
  }
  mul_(factor: number): this {
    native().mulInPlace(this.handle, factor);
    return this;
  }
  add_(other: Tensor, alpha = 1): this {
    native().addInPlace(this.handle, other.handle, alpha);
    return this;
  }
}

// ---- creation ----

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
}

function checkShape(shape: number[], what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: shape must be non-negative integers, got [${shape}]`);
  }
}

/** A tensor from nested number arrays or a typed array (with a shape). */
export function tensor(data: TypedArray | number[] | number[][] | number[][][] | number, shape?: number[], options: CreateOptions = {}): Tensor {
  if (typeof data === 'number') return tensor([data], [], options);
  if (Array.isArray(data)) {
    const inferred: number[] = [];
    let level: unknown = data;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    const flat = (data as unknown[]).flat(Infinity) as number[];
    const dtype = options.dtype ?? 'float32';
    const array = makeTypedArray(dtype, flat);
    return tensor(array, shape ?? inferred, { ...options, dtype });
  }
  const dtype = options.dtype ?? dtypeOfArray(data);
  if (data.BYTES_PER_ELEMENT !== BYTES_PER_ELEMENT[dtype]) {
    throw new Error(`tensor: a ${data.constructor.name} cannot hold ${dtype} data (${BYTES_PER_ELEMENT[dtype]} bytes per element); ` +
      'pass the matching typed array or build from numbers');
  }
  const s = shape ?? [data.length];
  checkShape(s, 'tensor');
  const need = s.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
  if (data.byteLength !== need) {
    throw new Error(`tensor: ${data.length} values do not fill shape [${s}] of ${dtype} (needs ${need / BYTES_PER_ELEMENT[dtype]})`);
  }
  return emit('constant', [], {}, native().fromBuffer(data, s, dtypeCode(dtype), options.device));
}

function makeTypedArray(dtype: DType, values: number[]): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
    case 'int32': return Int32Array.from(values);
    case 'bool':
    case 'uint8': return Uint8Array.from(values, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v));
    default: throw new Error(`tensor: cannot build ${dtype} from numbers; build float32 and convert with .to()`);
  }
}

export function zeros(shape: number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'zeros');
  return emit('constant', [], {}, native().zeros(shape, dtypeCode(options.dtype ?? 'float32'), options.device));
}
export function ones(shape: number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'ones');
  return emit('constant', [], {}, native().ones(shape, dtypeCode(options.dtype ?? 'float32'), options.device));
}
export function full(shape: number[], value: number, options: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  return emit('constant', [], {}, native().full(shape, value, dtypeCode(options.dtype ?? 'float32'), options.device));
}
/** start, start + step, ... below end: int64 when all three are integers, else float32 (as PyTorch). */
export function arange(start: number, end: number, step = 1, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int64' : 'float32');
  return emit('constant', [], {}, native().arange(start, end, step, dtypeCode(dtype), options.device));
}
export function rand(shape: number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'rand');
  return new Tensor(native().rand(shape, dtypeCode(options.dtype ?? 'float32'), options.device));
}
export function randn(shape: number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'randn');
  return new Tensor(native().randn(shape, dtypeCode(options.dtype ?? 'float32'), options.device));
}
/** Integers in [low, high), int64. */
export function randint(low: number, high: number, shape: number[], options: Pick<CreateOptions, 'device'> = {}): Tensor {
  checkShape(shape, 'randint');
  return new Tensor(native().randint(low, high, shape, options.device));
}
export function randperm(n: number, options: Pick<CreateOptions, 'device'> = {}): Tensor {
  return new Tensor(native().randperm(n, options.device));
}
/** Zeros with t's shape, dtype, device and memory layout (channels-last stays channels-last). */
export const zerosLike = (t: Tensor): Tensor => emit('constant', [], {}, native().zerosLike(t.handle));
export const onesLike = (t: Tensor): Tensor => ones(t.shape, { dtype: t.dtype, device: t.device });
