// The sparse storage of pruned weights in ONNX files: mask + values +
// decoding nodes that onnxruntime folds back into the dense weight (same
// outputs as the dense file), with payloads checked at load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, Linear, Module, manualSeed, randn, type Tensor } from '../../src/engine/index.js';
import { checkSparseInitializers, decodeModel, encodeModel, encodeSparseInitializers } from '../../src/deploy/onnx/sparse-initializers.js';
import { findPrunableLayers, pruneLayers } from '../../src/compress/prune-module.js';
import { parseSparsity } from '../../src/compress/mask.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { runOnnx } from './helpers.js';

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
