// The project's own models through the tracer: the zero-shot classifier
// (image encoder conditioned on generated norm parameters, class embeddings
// as the last layer) and the text encoder, against the libtorch forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, manualSeed, noGrad, rand, randint, randn, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { onnx } from '../../src/deploy/onnx/proto.js';
import { assertParity, CHECKER_SKIP, feedOf, onnxCheckerAvailable, onnxCheckerError, runOnnx } from './helpers.js';

/** A test-tiny HyperCLIP with trained-looking state: non-zero hypernetwork head, spread batch-norm statistics. */
function trainedLookingModel(): HyperClip {
  const model = new HyperClip(resolveConfig('test-tiny'));
  noGrad(() => {
    const head = model.hypernet!.head;
    head.weight.copy_(randn(head.weight.shape).mul(0.05));
    head.bias!.copy_(randn(head.bias!.shape).mul(0.05));
    for (const [, m] of model.imageEncoder.namedModules()) {
      if (!(m instanceof BatchNorm2d)) continue;
      m.runningMean.copy_(randn([m.channels]).mul(0.1));
      m.runningVar.copy_(rand([m.channels]).add(0.5));
    }
  });
  return model.eval();
}

/** Class prompt ids [K, T] whose largest id (the end token) sits at different positions. */
function promptIds(k: number, t: number, vocab: number): Tensor {
  const ids = randint(1, vocab - 1, [k, t]).data() as BigInt64Array;
  for (let i = 0; i < k; i++) ids[i * t + 2 + (i % (t - 2))] = BigInt(vocab - 1);
  return tensor(ids, [k, t]);
}

test('the zero-shot classifier of a HyperCLIP model exports and matches HyperClip.classify (dynamic batch)', async (t) => {
  manualSeed(12);
  const model = trainedLookingModel();
  const { contextLength, vocabSize } = model.config.text;
  const zeroShot = model.zeroShotClassifier(promptIds(6, contextLength, vocabSize));
  const size = model.config.image.imageSize;
  const bytes = exportOnnx(({ image }) => model.classify(image!, zeroShot), [{ name: 'image', tensor: randn([2, 3, size, size]), dynamicBatch: true }],
    { outputNames: ['logits'], names: model.stateDict() });
  for (const batch of [2, 5]) {
    const images = randn([batch, 3, size, size]);
    const onnxLogits = (await runOnnx(bytes, { image: feedOf(images) })).logits!;
    const engineLogits = noGrad(() => tidy(() => model.classify(images, zeroShot)));
    const diff = assertParity(onnxLogits, engineLogits, 1e-3, `classifier logits at batch ${batch}`);
    t.diagnostic(`HyperCLIP classifier, batch ${batch}: max abs logit diff ${diff.toExponential(2)} (logit scale ${zeroShot.logitScale.toFixed(2)})`);
  }
  const info = readOnnxInfo(bytes);
  assert.deepEqual(info.outputs[0]!.dims, ['batch', 6]);
  // Generated norm parameters live inside the convolutions: no norm, layout or per-channel affine nodes remain.
  const opTypes = onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);
  assert.deepEqual(opTypes.filter((op) => op === 'BatchNormalization' || op === 'Transpose'), []);
  const normLayers = [...model.imageEncoder.namedModules()].filter(([, m]) => m instanceof BatchNorm2d).length;
  const unfolded = exportOnnx(({ image }) => model.classify(image!, zeroShot), [{ name: 'image', tensor: randn([2, 3, size, size]), dynamicBatch: true }],
    { foldConvAffine: false });
  const unfoldedOps = onnx.ModelProto.decode(unfolded).graph!.node!.map((n) => n.opType!);
  assert.equal(unfoldedOps.filter((op) => op === 'BatchNormalization').length, normLayers);
  t.diagnostic(`classifier graph: ${opTypes.length} nodes folded, ${unfoldedOps.length} unfolded; ${bytes.byteLength} bytes`);
  if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
  else assert.equal(onnxCheckerError(bytes), null);
});

test('the text encoder exports with a dynamic batch and matches the engine', async (t) => {
  manualSeed(13);
  const model = trainedLookingModel();
  const { contextLength, vocabSize } = model.config.text;
  const bytes = exportOnnx(({ ids }) => model.encodeText(ids!), [{ name: 'ids', tensor: promptIds(3, contextLength, vocabSize), dynamicBatch: true }],
    { outputNames: ['text_embedding'], names: model.stateDict() });
  for (const batch of [3, 7]) {
    const ids = promptIds(batch, contextLength, vocabSize);
    const onnxOut = (await runOnnx(bytes, { ids: feedOf(ids) })).text_embedding!;
    const diff = assertParity(onnxOut, noGrad(() => tidy(() => model.encodeText(ids))), 1e-4, `text encoder at batch ${batch}`);
    t.diagnostic(`text encoder, batch ${batch}: max abs diff ${diff.toExponential(2)}`);
  }
  if (!onnxCheckerAvailable()) t.skip(CHECKER_SKIP);
  else assert.equal(onnxCheckerError(bytes), null);
});
