// A fitted SLR-AVD head exported as a standalone ONNX classifier gives the
// in-memory head's logits on real CIFAR-10 images, under both
// conditionings, and runs through the classify runtime with its class names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeImage } from '../../src/data/images.js';
import { resolveDataset } from '../../src/data/datasets.js';
import { WordNet } from '../../src/data/wordnet.js';
import { loadBundle } from '../../src/bundle/bundle.js';
import { classify, loadClassifier } from '../../src/deploy/runtime/node.js';
import { onnx } from '../../src/deploy/onnx/proto.js';
import { descriptionsFromWordNet } from '../../src/fewshot/descriptions.js';
import { buildTextSide, disposeTextSide, embedEncoded, type Conditioning } from '../../src/fewshot/embed.js';
import { exportFewShotClassifier } from '../../src/fewshot/export.js';
import { fitHead, headLogits, selectedFeatures } from '../../src/fewshot/head.js';
import { readShotPool } from '../../src/fewshot/shots.js';
import { maxAbsDiff, runOnnx } from '../deploy/helpers.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

test('an exported few-shot classifier equals the in-memory head on real images, under either conditioning', async (t) => {
  // The shipped model: an untrained tiny one maps every image to almost the same embedding once conditioned.
  const bundle = loadBundle();
  const side = buildTextSide(bundle, descriptionsFromWordNet(CLASSES, WordNet.load()), ['a photo of a {}.']);
  try {
    // Three labelled CIFAR-10 test images per class: the shots, and the images to compare on.
    const pool = await readShotPool({ shards: resolveDataset('cifar10', 'test').shards }, CLASSES, 3);
    const size = bundle.preprocess.size;
    const pixels = new Float32Array(pool.images.length * 3 * size * size);
    await Promise.all(pool.images.map((jpeg, i) => decodeImage(jpeg, bundle.preprocess, 0, pixels, i * 3 * size * size)));
    for (const conditioning of ['prompts', 'descriptions'] as Conditioning[]) {
      const normParams = side.normParams[conditioning];
      const embedded = await embedEncoded(bundle, pool.images, pool.labels, [normParams]);
      // A fixed small penalty, so that many descriptions carry weight.
      const head = fitHead('slr-avd', side, embedded.embeddings.get(normParams)!, pool.labels, { lambda: 0.01 });
      assert.ok(head.model.weight.some((w) => w !== 0));
      const expected = headLogits(head, embedded.embeddings.get(normParams)!, pool.images.length); // [30, 10]

      const exported = exportFewShotClassifier(bundle, head, normParams, { output: 'logits', templates: ['a photo of a {}.'], descriptionSource: 'WordNet 3.1', shots: 3 });
      const ops = new Set(onnx.ModelProto.decode(exported.bytes).graph!.node!.map((n) => n.opType));
      assert.ok(!ops.has('BatchNormalization'), 'norm parameters are folded into the convolutions');
      assert.ok(exported.kept.length > 0 && exported.kept.length <= head.names.length);
      const got = (await runOnnx(exported.bytes, { image: { data: pixels, dims: [pool.images.length, 3, size, size] } })).logits!;
      assert.deepEqual(got.dims, [pool.images.length, CLASSES.length]);
      const diff = maxAbsDiff(got.data as Float32Array, expected);
      const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(diff <= 1e-4 * Math.max(1, scale), `${conditioning}: ONNX logits differ from the in-memory head by ${diff} (scale ${scale})`);
      t.diagnostic(`${conditioning}: ${exported.kept.length} of ${head.names.length} features kept, max abs logit diff ${diff.toExponential(2)}`);

      const softmax = exportFewShotClassifier(bundle, head, normParams, { templates: ['a photo of a {}.'], descriptionSource: 'WordNet 3.1', shots: 3 });
      const classifier = await loadClassifier(softmax.bytes);
      assert.deepEqual(classifier.metadata.classNames, CLASSES);
      assert.equal(classifier.metadata.output, 'softmax');
      const predictions = await classify(classifier, pixels, { topk: 1, normalized: true });
      const argmax = Array.from({ length: pool.images.length }, (_, i) => {
        const row = Array.from(expected.subarray(i * 10, (i + 1) * 10));
        return row.indexOf(Math.max(...row));
      });
      assert.deepEqual(predictions.map((p) => p.topk[0]!.index), argmax);
      await classifier.runner.release();
      const selected = selectedFeatures(head);
      assert.equal(selected.length, CLASSES.length);
      assert.ok(selected.some((s) => s.positive.length > 0), 'some class should select a description');
    }
  } finally {
    disposeTextSide(side);
    bundle.model.dispose();
  }
});
