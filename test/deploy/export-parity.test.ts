// Traced ONNX export against the engine: the same model code, run by
// onnxruntime-node, must give the engine's outputs (max abs diff <= 1e-4,
// same argmax), also at a batch size other than the traced one, and the
// file must pass the ONNX checker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, rand, randint, randn, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { PerSampleNorm, TinyCnn, TinyTextEncoder, type TinyTextConfig } from './modules.js';
import { assertParity, CHECKER_SKIP, feedOf, onnxCheckerAvailable, onnxCheckerError, runOnnx } from './helpers.js';

const TOL = 1e-4;
const engineForward = (fn: () => Tensor): Tensor => noGrad(() => tidy(fn));

test('CNN block (conv, BN eval, ReLU6, hardswish, SE gating, pool, linear) matches the engine at the traced and another batch', async (t) => {
  manualSeed(1);
  const model = new TinyCnn().eval();
  const bytes = exportOnnx(({ image }) => model.forward(image!), [{ name: 'image', tensor: rand([2, 3, 16, 16]), dynamicBatch: true }],
    { outputNames: ['logits'], names: model.stateDict() });
  for (const batch of [2, 5]) {
    const x = randn([batch, 3, 16, 16]);
    const onnxOut = (await runOnnx(bytes, { image: feedOf(x) })).logits!;
    const diff = assertParity(onnxOut, engineForward(() => model.forward(x)), TOL, `TinyCnn at batch ${batch}`);
    t.diagnostic(`TinyCnn batch ${batch}: max abs diff ${diff.toExponential(2)}`);
  }
  const info = readOnnxInfo(bytes);
  assert.deepEqual(info.inputs[0]!.dims, ['batch', 3, 16, 16]);
  assert.deepEqual(info.outputs[0], { name: 'logits', dtype: 'float32', dims: ['batch', 5] });
  if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
  else assert.equal(onnxCheckerError(bytes), null);
});

const TEXT: TinyTextConfig = { vocab: 50, context: 8, width: 16, heads: 2, embedDim: 12 };

/** Token ids with a distinct largest id (the end token) at a different position per row. */
function tokens(batch: number): Tensor {
  const ids = randint(1, TEXT.vocab - 1, [batch, TEXT.context]).data() as BigInt64Array;
  for (let b = 0; b < batch; b++) ids[b * TEXT.context + ((b * 3 + 2) % TEXT.context)] = BigInt(TEXT.vocab - 1);
  return tensor(ids, [batch, TEXT.context]);
}

for (const pooling of ['gather', 'indexSelect'] as const) {
  test(`pre-LN transformer block with causal mask, end-token pooling by ${pooling}, matches the engine`, async (t) => {
    manualSeed(2);
    const model = new TinyTextEncoder(TEXT, pooling).eval();
    const bytes = exportOnnx(({ tokens: ids }) => model.forward(ids!), [{ name: 'tokens', tensor: tokens(2), dynamicBatch: true }],
      { outputNames: ['embedding'], names: model.stateDict() });
    for (const batch of [2, 5]) {
      const ids = tokens(batch);
      const onnxOut = (await runOnnx(bytes, { tokens: feedOf(ids) })).embedding!;
      const diff = assertParity(onnxOut, engineForward(() => model.forward(ids)), TOL, `text encoder (${pooling}) at batch ${batch}`);
      t.diagnostic(`text encoder (${pooling}) batch ${batch}: max abs diff ${diff.toExponential(2)}`);
    }
    if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
    else assert.equal(onnxCheckerError(bytes), null);
  });
}

test('batch norm with per-sample scale and shift given as graph inputs keeps a dynamic batch', async (t) => {
  manualSeed(3);
  const model = new PerSampleNorm().eval();
  const example = [
    { name: 'image', tensor: randn([2, 3, 8, 8]), dynamicBatch: true },
    { name: 'scale', tensor: rand([2, 6]), dynamicBatch: true },
    { name: 'shift', tensor: randn([2, 6]), dynamicBatch: true },
  ];
  const bytes = exportOnnx(({ image, scale, shift }) => model.forward(image!, scale!, shift!), example, { names: model.stateDict() });
  for (const batch of [2, 5]) {
    const [x, scale, shift] = [randn([batch, 3, 8, 8]), rand([batch, 6]).add(0.5), randn([batch, 6])];
    const onnxOut = (await runOnnx(bytes, { image: feedOf(x), scale: feedOf(scale), shift: feedOf(shift) })).output!;
    const diff = assertParity(onnxOut, engineForward(() => model.forward(x, scale, shift)), TOL, `per-sample BN at batch ${batch}`);
    t.diagnostic(`per-sample BN batch ${batch}: max abs diff ${diff.toExponential(2)}`);
  }
  if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
  else assert.equal(onnxCheckerError(bytes), null);
});
