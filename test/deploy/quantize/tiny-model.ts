// A small HyperCLIP whose image tower is a real trained network: the
// ImageNet-pretrained MobileNet v1 0.5 of the data folder (ReLU6 clips,
// depthwise convolutions, TFLite-style explicit padding, as the shipped
// model's v2) at 64 px, with test-tiny's untrained text tower and
// hypernetwork; generated on onnxruntime for the ten CIFAR-10 classes. A
// trained tower is what makes the outputs depend on the image: an untrained
// MobileNet's embedding is the same for every image (measured: cosine 1.0000
// between any two CIFAR-10 images), so float and int8 could not be compared
// on anything. And real CIFAR-10 images to calibrate and compare on.
import { manualSeed, noGrad, rand } from '../../../src/engine/index.js';
import { Tokenizer } from '../../../src/data/tokenizer/index.js';
import { decodeImage } from '../../../src/data/images.js';
import { evalPreprocess, type PreprocessSpec } from '../../../src/data/preprocess.js';
import { HyperClip, resolveConfig, type ModelConfig } from '../../../src/models/index.js';
import { initFromRun } from '../../../src/train/init-from-run.js';
import { exportConditionedEncoder, exportGenerator } from '../../../src/deploy/export-models.js';
import { generateOnRuntime, type RuntimeGenerated } from '../../../src/deploy/runtime/generate.js';
import { openRunner } from '../../../src/deploy/runtime/node.js';
import { cifarImages } from '../real-images.js';

export const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export function tinyConfig(tokenizer: Tokenizer): ModelConfig {
  return resolveConfig({
    preset: 'test-tiny', image: { family: 'mobilenetv1', widthMultiplier: 0.5, imageSize: 64 },
    text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength },
  });
}

export async function tinyFloatClassifier(seed: number): Promise<RuntimeGenerated & { preprocess: PreprocessSpec }> {
  manualSeed(seed);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = tinyConfig(tokenizer);
  const model = new HyperClip(config);
  initFromRun(model, { from: 'pretrained:mobilenet_v1_0.5_160_quant', parts: ['imageEncoder'] });
  // A non-zero hypernetwork head, so the generated norms are not the identity.
  noGrad(() => model.hypernet!.head.weight.copy_(rand(model.hypernet!.head.weight.shape).sub(0.5).mul(0.1)));
  model.eval();
  const preprocess = evalPreprocess(config.image.imageSize);
  const templates = ['a photo of a {}.'];
  const generated = await generateOnRuntime(exportGenerator(model, templates.length), exportConditionedEncoder(model), tokenizer,
    { classNames: CIFAR10, templates, output: 'softmax', mean: preprocess.mean, std: preprocess.std }, openRunner);
  model.dispose();
  return { ...generated, preprocess };
}

/** One CIFAR-10 test image per class, preprocessed: [10, 3, S, S]. */
export async function cifarTestPixels(preprocess: PreprocessSpec): Promise<Float32Array> {
  const per = 3 * preprocess.size * preprocess.size;
  const images = await cifarImages(10);
  const pixels = new Float32Array(images.length * per);
  for (const [i, image] of images.entries()) await decodeImage(image.jpeg, preprocess, 0, pixels, i * per);
  return pixels;
}
