// The bit-mask encoding of a pruned weight, shared by the safetensors side
// (sparse-tensors.ts) and the ONNX side (src/deploy/onnx/sparse-initializers.ts).
// It imports nothing from the rest of the engine (no addon), so the ONNX
// runtime path (classify, serve) checks payloads without libtorch.
import { crc32 } from 'node:zlib';

export const SPARSE_METADATA_KEY = 'hyperclip.sparse';
export interface SparseEntry { shape: number[]; kept: number; crc32: number }

/** Bit mask (LSB first) and kept values of a dense float32 array. */
export function packSparse(data: Float32Array): { mask: Uint8Array; values: Float32Array } {
  const mask = new Uint8Array(Math.ceil(data.length / 8));
  let kept = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) { mask[i >> 3]! |= 1 << (i & 7); kept++; }
  const values = new Float32Array(kept);
  for (let i = 0, k = 0; i < data.length; i++) if (data[i] !== 0) values[k++] = data[i]!;
  return { mask, values };
}

export function unpackSparse(mask: Uint8Array, values: Float32Array, numel: number): Float32Array {
  const out = new Float32Array(numel);
  for (let i = 0, k = 0; i < numel; i++) if ((mask[i >> 3]! >> (i & 7)) & 1) out[i] = values[k++]!;
  return out;
}

export const popcount = (mask: Uint8Array): number => {
  let n = 0;
  for (const byte of mask) for (let b = byte; b !== 0; b &= b - 1) n++;
  return n;
};

export const payloadCrc = (mask: Uint8Array, values: Float32Array): number =>
  crc32(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), crc32(mask));

