// safetensors files (https://github.com/huggingface/safetensors format):
// 8-byte little-endian header length, a JSON header, then raw little-endian data.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { native } from './native.js';
import { writeFileAtomic } from './atomic-write.js';
import { BYTES_PER_ELEMENT, dtypeCode, type DType } from './dtype.js';
import { Tensor } from './tensor.js';

const NAMES: Record<DType, string> = {
  float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL', float16: 'F16', bfloat16: 'BF16',
};
const DTYPES = Object.fromEntries(Object.entries(NAMES).map(([k, v]) => [v, k as DType])) as Record<string, DType>;

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Serialises tensors (copies of their data) and string metadata. */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = new Uint8Array(native().toBuffer(t.handle));
    header[name] = { dtype: NAMES[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  return [length, headerBytes, ...blobs];
}

export function saveSafetensors(file: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function decodeSafetensors(bytes: Uint8Array, source = 'buffer'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new Error(`${source} is not a valid safetensors file: ${why}`);
  };
  if (bytes.byteLength < 8) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) fail(`header length ${headerLength} exceeds the file`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header as unknown)) fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const metadata: Record<string, string> = header.__metadata__ ?? {};
  // Check every entry before creating any tensor, so a bad file leaks nothing.
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => checkEntry(name, entry, bytes.byteLength - dataStart, fail));
  const tensors = new Map<string, Tensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    // Copy into an aligned buffer: typed arrays need aligned offsets.
    const slice = new Uint8Array(end - begin);
    slice.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, new Tensor(native().fromBuffer(slice, shape, dtypeCode(dtype))));
  }
  return { tensors, metadata };
}

interface Entry { name: string; dtype: DType; shape: number[]; begin: number; end: number }

function checkEntry(name: string, entry: any, dataBytes: number, fail: (why: string) => never): Entry {
  const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  if (entry === null || typeof entry !== 'object') fail(`tensor ${name} has a malformed entry`);
  const dtype = DTYPES[entry.dtype];
  if (dtype === undefined) fail(`tensor ${name} has unsupported dtype ${entry.dtype}`);
  const { shape, data_offsets: offsets } = entry;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor ${name} has a malformed shape`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) fail(`tensor ${name} has malformed data_offsets`);
  const [begin, end] = offsets as [number, number];
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  if (end - begin !== numel * BYTES_PER_ELEMENT[dtype!] || end > dataBytes) fail(`tensor ${name} has inconsistent offsets`);
  return { name, dtype: dtype!, shape, begin, end };
}

export function loadSafetensors(file: string): SafetensorsFile {
  if (!existsSync(file)) throw new Error(`no such file: ${file}`);
  return decodeSafetensors(readFileSync(file), file);
}

/** A file's __metadata__ alone, read from its header without reading or creating any tensor. */
export function readSafetensorsMetadata(file: string): Record<string, string> {
  if (!existsSync(file)) throw new Error(`no such file: ${file}`);
  const fd = openSync(file, 'r');
  try {
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) < 8) throw new Error(`${file} is not a valid safetensors file: too short`);
    const header = Buffer.alloc(Number(size.readBigUInt64LE(0)));
    if (readSync(fd, header, 0, header.length, 8) < header.length) throw new Error(`${file} is not a valid safetensors file: header length ${header.length} exceeds the file`);
    try {
      return (JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__ ?? {};
    } catch {
      throw new Error(`${file} is not a valid safetensors file: header is not JSON`);
    }
  } finally {
    closeSync(fd);
  }
}
