// Pruned weights stored so the file shrinks: a tensor with many zeros is
// written as a bit mask (1 bit per weight, kept = 1, LSB first) and its kept
// values in row-major order, `NAME.sparse_mask` (U8) and
// `NAME.sparse_values` (F32), and the safetensors metadata records every
// such tensor's shape, kept count and a CRC-32 of both payloads. Decoding
// checks all of it, so a damaged payload is one clear error rather than
// silently wrong weights. At 50% sparsity a layer takes 53% of its dense bytes.
import { tensor, type Tensor } from './tensor.js';
import { packSparse, payloadCrc, popcount, unpackSparse, SPARSE_METADATA_KEY, type SparseEntry } from './sparse-bits.js';

export { SPARSE_METADATA_KEY };
const MASK_SUFFIX = '.sparse_mask';
const VALUES_SUFFIX = '.sparse_values';

/** Dense bytes exceed mask + values once more than 1/32 of the weights are zero. */
const shrinks = (data: Float32Array): boolean => data.reduce((n, v) => n + (v === 0 ? 1 : 0), 0) * 32 > data.length;

/**
 * The tensors to write, with the named float32 tensors that shrink replaced by
 * their mask and values (new tensors: the caller disposes them), and the
 * metadata entry that describes them.
 */
export function encodeSparseTensors(state: Map<string, Tensor>, names: Iterable<string>): { tensors: Map<string, Tensor>; metadata: Record<string, string>; created: Tensor[] } {
  const sparse = new Set(names);
  const tensors = new Map<string, Tensor>();
  const entries: Record<string, SparseEntry> = {};
  const created: Tensor[] = [];
  for (const [name, t] of state) {
    const data = sparse.has(name) && t.dtype === 'float32' ? (t.data() as Float32Array) : null;
    if (data === null || !shrinks(data)) {
      tensors.set(name, t);
      continue;
    }
    const { mask, values } = packSparse(data);
    const maskTensor = tensor(mask, [mask.length], { dtype: 'uint8' });
    const valuesTensor = tensor(values, [values.length]);
    created.push(maskTensor, valuesTensor);
    tensors.set(name + MASK_SUFFIX, maskTensor);
    tensors.set(name + VALUES_SUFFIX, valuesTensor);
    entries[name] = { shape: t.shape, kept: values.length, crc32: payloadCrc(mask, values) };
  }
  const metadata: Record<string, string> = Object.keys(entries).length === 0 ? {} : { [SPARSE_METADATA_KEY]: JSON.stringify(entries) };
  return { tensors, metadata, created };
}

/**
 * Replaces every sparse pair of a loaded file by its dense tensor, checking
 * shape, sizes, kept count and CRC. Consumed tensors are disposed.
 */
export function decodeSparseTensors(tensors: Map<string, Tensor>, metadata: Record<string, string>, source: string): Map<string, Tensor> {
  const text = metadata[SPARSE_METADATA_KEY];
  if (text === undefined) return tensors;
  const corrupt = (name: string, why: string): never => {
    throw new Error(`${source}: the sparse weights of ${name} are corrupt (${why}); prune the model again or restore the file`);
  };
  let entries: Record<string, SparseEntry>;
  try {
    entries = JSON.parse(text);
  } catch {
    throw new Error(`${source}: the ${SPARSE_METADATA_KEY} metadata is not valid JSON; prune the model again or restore the file`);
  }
  const out = new Map(tensors);
  for (const [name, e] of Object.entries(entries)) {
    const maskTensor = tensors.get(name + MASK_SUFFIX), valuesTensor = tensors.get(name + VALUES_SUFFIX);
    if (maskTensor === undefined || valuesTensor === undefined) corrupt(name, 'its mask or values are missing');
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) corrupt(name, 'malformed shape');
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (maskTensor!.dtype !== 'uint8' || maskTensor!.numel !== Math.ceil(numel / 8)) corrupt(name, `the mask should hold ${Math.ceil(numel / 8)} bytes`);
    if (valuesTensor!.dtype !== 'float32' || valuesTensor!.numel !== e.kept) corrupt(name, `${valuesTensor!.numel} values stored, ${e.kept} expected`);
    const mask = maskTensor!.data() as Uint8Array, values = valuesTensor!.data() as Float32Array;
    if (popcount(mask) !== e.kept) corrupt(name, `the mask keeps ${popcount(mask)} weights, ${e.kept} expected`);
    if (payloadCrc(mask, values) !== e.crc32) corrupt(name, 'CRC-32 mismatch');
    out.delete(name + MASK_SUFFIX);
    out.delete(name + VALUES_SUFFIX);
    maskTensor!.dispose();
    valuesTensor!.dispose();
    out.set(name, tensor(unpackSparse(mask, values, numel), e.shape));
  }
  return out;
}
