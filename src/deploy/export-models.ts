// The unspecialised deployment path as two ONNX files, so that generation
// itself can run on onnxruntime alone: the generator (text encoder +
// hypernetwork: class prompts -> class embeddings and norm parameters) and
// the image encoder taking those norm parameters as inputs.
import { F, randint, zeros, type Tensor } from '../engine/index.js';
import type { HyperClip } from '../models/index.js';
import { exportOnnx } from './onnx/writer.js';
import { CLASS_EMBEDDINGS, IMAGE_EMBEDDINGS, scaleInput, shiftInput } from './io-names.js';

export { CLASS_EMBEDDINGS, IMAGE_EMBEDDINGS, scaleInput, shiftInput };

/** What both files record about the model, as metadata_props. */
function modelMetadata(model: HyperClip, kind: string): Record<string, string> {
  const layers = model.hypernet?.targets.map((l) => ({ name: l.name, channels: l.channels })) ?? [];
  return {
    'hyperclip.kind': kind,
    'hyperclip.model': model.config.name,
    'hyperclip.norm_layers': JSON.stringify(layers),
    'hyperclip.logit_scale': String(Math.exp(model.logitScale.item())),
    'hyperclip.logit_bias': String(model.config.loss.kind === 'siglip' ? model.logitBias.item() : 0),
    'hyperclip.context_length': String(model.config.text.contextLength),
    'hyperclip.image_size': String(model.config.image.imageSize),
  };
}

function requireHypernet(model: HyperClip): void {
  if (model.hypernet === null) throw new Error(`model ${model.config.name} has no hypernetwork: there is no generator to export`);
}

/**
 * ids int64 [K, P, T] (K classes, P templates; K dynamic, P fixed) -> class_embeddings
 * [K, E] (normalised, averaged over templates) and, per generated norm layer,
 * NAME.scale and NAME.shift [1, C]. Call model.eval() first.
 */
export function exportGenerator(model: HyperClip, templates: number | string[] = 1, extraMetadata: Record<string, string> = {}): Uint8Array {
  requireHypernet(model);
  const count = typeof templates === 'number' ? templates : templates.length;
  const example = randint(1, model.config.text.vocabSize, [2, count, model.config.text.contextLength]);
  // The template axis is baked into the traced reshapes: record how many (and which) the file expects.
  const metadata = { ...modelMetadata(model, 'generator'), ...extraMetadata, 'hyperclip.template_count': String(count),
    ...(typeof templates === 'number' ? {} : { 'hyperclip.templates': JSON.stringify(templates) }) };
  return exportOnnx(({ ids }) => {
    const zeroShot = model.zeroShotClassifier(ids!);
    const outputs: Record<string, Tensor> = { [CLASS_EMBEDDINGS]: zeroShot.classEmbeddings };
    for (const [layer, { scale, shift }] of zeroShot.normParams!) {
      outputs[scaleInput(layer)] = scale;
      outputs[shiftInput(layer)] = shift;
    }
    return outputs;
  }, [{ name: 'ids', tensor: example, dynamicBatch: true }], { names: model.stateDict(), metadata });
}

/**
 * image [N, 3, S, S] (normalised pixels, N dynamic) and NAME.scale /
 * NAME.shift [1, C] per generated norm layer -> image_embeddings [N, E],
 * L2-normalised. Logits against class embeddings are scale * <x, y> + bias
 * (the file's hyperclip.logit_scale and hyperclip.logit_bias).
 */
export function exportConditionedEncoder(model: HyperClip, extraMetadata: Record<string, string> = {}): Uint8Array {
  requireHypernet(model);
  const size = model.config.image.imageSize;
  const inputs = [{ name: 'image', tensor: zeros([2, 3, size, size]), dynamicBatch: true }];
  for (const layer of model.hypernet!.targets) {
    inputs.push({ name: scaleInput(layer.name), tensor: zeros([1, layer.channels]), dynamicBatch: false });
    inputs.push({ name: shiftInput(layer.name), tensor: zeros([1, layer.channels]), dynamicBatch: false });
  }
  return exportOnnx((feeds) => {
    const normParams = new Map(model.hypernet!.targets.map((l) => [l.name, { scale: feeds[scaleInput(l.name)]!, shift: feeds[shiftInput(l.name)]! }]));
    return { [IMAGE_EMBEDDINGS]: F.normalize(model.encodeImage(feeds.image!, normParams), -1) }; // [N, E]
  }, inputs, { names: model.stateDict(), metadata: { ...modelMetadata(model, 'conditioned-encoder'), ...extraMetadata } });
}
