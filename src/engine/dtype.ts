export type DType = 'float32' | 'int64' | 'bool' | 'float16' | 'bfloat16' | 'int32' | 'uint8' | 'float64';

// Codes shared with native/src/addon.cc (scalarType).
const CODES: Record<DType, number> = { float32: 0, int64: 1, bool: 2, float16: 3, bfloat16: 4, int32: 5, uint8: 6, float64: 7 };
const NAMES = Object.keys(CODES) as DType[];

export const dtypeCode = (dtype: DType): number => {
  const code = CODES[dtype];
  if (code === undefined) throw new Error(`unknown dtype "${dtype}": expected one of ${NAMES.join(', ')}`);
  return code;
};

export const dtypeFromCode = (code: number): DType => {
  const name = NAMES[code];
  if (name === undefined) throw new Error(`tensor has a dtype hyperclip does not support (code ${code})`);
  return name;
};

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, int64: 8, bool: 1, float16: 2, bfloat16: 2, int32: 4, uint8: 1, float64: 8,
};

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

/** The typed array that holds a dtype's raw bytes without conversion. */
export function typedArrayFor(dtype: DType, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'bool':
    case 'uint8': return new Uint8Array(buffer);
    case 'float16':
    case 'bfloat16': return new Uint16Array(buffer);
  }
}

/** Picks the dtype that matches a typed array given as tensor data. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  throw new Error('tensor data must be a Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array (or set dtype)');
}
