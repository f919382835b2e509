// The sparse storage of pruned weights: safetensors (mask + values, checked
// at load) and ONNX (mask + values + decoding nodes that onnxruntime folds
// back into the dense weight: same outputs as the dense file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, Linear, Module, manualSeed, noGrad, rand, randn, tensor, zeros, type Tensor } from '../../src/engine/index.js';
import { decodeSparseTensors, encodeSparseTensors } from '../../src/compress/mask-codec.js';
import { packSparse, unpackSparse } from '../../src/compress/mask-bits.js';
import { checkSparseInitializers, decodeModel, encodeModel, encodeSparseInitializers } from '../../src/compress/mask-onnx.js';
import { findPrunableLayers, pruneLayers } from '../../src/compress/prune-module.js';
import { parseSparsity } from '../../src/compress/mask.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { runOnnx } from '../deploy/helpers.js';

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

class Net extends Module {
  readonly conv = new Conv2d(8, 64, 3, { padding: 1 });
  readonly fc = new Linear(64, 32);
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.conv.forward(x).relu().mean([2, 3]));
  }
}

test('ONNX side: the sparse-encoded file computes what the dense pruned file computes, and its payloads are checked', async () => {
  manualSeed(2);
  const net = new Net();
  pruneLayers(findPrunableLayers(net), { method: 'magnitude', sparsity: parseSparsity('0.6') });
  const x = randn([3, 8, 6, 6]);
  const bytes = exportOnnx(({ x }) => net.forward(x!), [{ name: 'x', tensor: x }], { outputNames: ['y'], names: net.stateDict() });
  const model = decodeModel(bytes);
  const names = (model.graph!.initializer ?? []).map((t) => t.name!).filter((n) => n.endsWith('weight'));
  assert.equal(encodeSparseInitializers(model, names), 2);
  const sparse = encodeModel(model);
  assert.ok(sparse.byteLength < 0.7 * bytes.byteLength, `${sparse.byteLength} vs ${bytes.byteLength} bytes`);
  const feed = { x: { data: x.data() as Float32Array, dims: x.shape } };
  const [a, b] = [(await runOnnx(bytes, feed)).y!, (await runOnnx(sparse, feed)).y!];
  assert.deepEqual(Array.from(b.data as Float32Array), Array.from(a.data as Float32Array));

  checkSparseInitializers(decodeModel(sparse), 'ok.onnx');
  const damaged = decodeModel(sparse);
  const values = damaged.graph!.initializer!.find((t) => t.name!.endsWith('.sparse_values'))!;
  values.rawData![values.rawData!.length - 1] ^= 0x40;
  assert.throws(() => checkSparseInitializers(damaged, 'bad.onnx'), /^Error: bad\.onnx: the sparse weights of \S+ are corrupt \(CRC-32 mismatch\)/);
});

test('Module.registerForwardHook sees inputs and output, and removing it restores the plain forward', () => {
  const fc = new Linear(4, 2);
  const seen: number[][] = [];
  const remove = fc.registerForwardHook((_m, inputs, output) => seen.push([(inputs[0] as Tensor).size(0), (output as Tensor).size(1)]));
  fc.forward(randn([3, 4]));
  remove();
  fc.forward(randn([5, 4]));
  assert.deepEqual(seen, [[3, 2]]);
  assert.ok(!Object.prototype.hasOwnProperty.call(fc, 'forward'), 'no wrapper left behind');
  assert.deepEqual([...fc.namedParameters()].map(([n]) => n), ['weight', 'bias'], 'hooks add no parameters');
});

test('Module.registerForwardPreHook runs before the forward (a change it makes is seen by the forward) and is removed on its own', () => {
  const fc = new Linear(4, 2);
  const events: string[] = [];
  const removePre = fc.registerForwardPreHook((m) => { events.push('pre'); noGrad(() => (m as Linear).weight.copy_(zeros([2, 4]))); });
  const removePost = fc.registerForwardHook((_m, _inputs, output) => events.push(`post ${(output as Tensor).sub(fc.bias!).abs().amax().item()}`));
  fc.forward(randn([3, 4]));
  removePre();
  assert.ok(Object.prototype.hasOwnProperty.call(fc, 'forward'), 'the other hook still wraps the forward');
  fc.forward(randn([3, 4]));
  removePost();
  assert.deepEqual(events, ['pre', 'post 0', 'post 0']);
  assert.ok(!Object.prototype.hasOwnProperty.call(fc, 'forward'), 'no wrapper left behind');
});
