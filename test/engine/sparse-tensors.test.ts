// The sparse storage of pruned weights in safetensors files: a bit mask plus
// the kept values, checked at load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, rand, randn, tensor } from '../../src/engine/index.js';
import { decodeSparseTensors, encodeSparseTensors } from '../../src/engine/sparse-tensors.js';
import { packSparse, unpackSparse } from '../../src/engine/sparse-bits.js';

test('bit mask + values round-trips any float array, zeros exactly where they were', () => {
  const data = Float32Array.from([0, 1.5, 0, 0, -2, 3, 0, 0, 0, 7, 0]);
  const { mask, values } = packSparse(data);
  assert.equal(mask.length, 2);
  assert.deepEqual(Array.from(values), [1.5, -2, 3, 7]);
  assert.deepEqual(unpackSparse(mask, values, data.length), data);
});

test('safetensors side: pruned tensors become mask + values and come back equal; a damaged payload is one clear error', () => {
  manualSeed(1);
  const weight = randn([8, 16]);
  const pruned = noGrad(() => weight.mul(rand([8, 16]).gt(0.5).to('float32')));
  const dense = randn([4]);
  const { tensors, metadata, created } = encodeSparseTensors(new Map([['w', pruned], ['b', dense]]), ['w', 'b']);
  assert.deepEqual([...tensors.keys()].sort(), ['b', 'w.sparse_mask', 'w.sparse_values'], 'b has no zeros: stays dense');
  const decoded = decodeSparseTensors(new Map(tensors), metadata, 'test.safetensors');
  assert.deepEqual(decoded.get('w')!.toArray(), pruned.toArray().map((v) => v + 0)); // -0 (a pruned negative weight) is stored as 0
  assert.deepEqual(decoded.get('w')!.shape, [8, 16]);

  void created; // consumed by the decoding above
  const again = encodeSparseTensors(new Map([['w', pruned]]), ['w']);
  const maskTensor = again.tensors.get('w.sparse_mask')!;
  const flipped = tensor(Uint8Array.from(maskTensor.data() as Uint8Array, (v, i) => (i === 0 ? v ^ 1 : v)), maskTensor.shape, { dtype: 'uint8' });
  const broken = new Map(again.tensors);
  broken.set('w.sparse_mask', flipped);
  assert.throws(() => decodeSparseTensors(broken, metadata, 'test.safetensors'), /^Error: test\.safetensors: the sparse weights of w are corrupt \(the mask keeps \d+ weights, \d+ expected\)/);
  assert.throws(() => decodeSparseTensors(new Map(), { 'hyperclip.sparse': '{nope' }, 'f'), /metadata is not valid JSON/);
});
