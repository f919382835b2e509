// HyperCLIP: text encoder + small image encoder + hypernetwork, trained
// jointly with the SigLIP loss. With config.hypernet = null the same class is
// the SigLIP (or CLIP) baseline: identical encoders, no hypernetwork.
import { BatchNorm2d, F, Linear, Module, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { ModelConfig } from './config.js';
import { Hypernetwork } from './hypernet.js';
import type { NormOverrides } from './image/blocks.js';
import { createImageEncoder, type ImageEncoder } from './image/encoder.js';
import { clipLoss, sameGroupMask, siglipLoss } from './losses.js';
import { TextEncoder } from './text/text-encoder.js';

/** Prompts encoded per forward pass when building a zero-shot classifier. */
const PROMPT_CHUNK = 1024;

/** Generated norm parameters by layer name: scale and shift [G, C], one row per task. */
export type NormParams = NormOverrides;

/**
 * Images already through the image encoder's first `block` blocks (a frozen
 * prefix, computed once per batch or read from a cache): the rest of the
 * encoder runs from there.
 */
export interface PrefixFeatures {
  prefix: Tensor; // [N, C, h, w]
  block: number;
}

export type ImageInput = Tensor | PrefixFeatures;

const batchOf = (input: ImageInput): number => ('block' in input ? input.prefix : input).size(0);

/** Everything a deployed zero-shot classifier needs. */
export interface ZeroShotClassifier {
  classEmbeddings: Tensor; // [K, E], L2-normalised
  normParams: NormParams | null; // [1, C] per generated layer; null for the baseline
  logitScale: number; // t, already exponentiated
  logitBias: number; // 0 for the CLIP loss
}

export class HyperClip extends Module {
  readonly imageEncoder: ImageEncoder;
  readonly imageProjection: Linear;
  readonly textEncoder: TextEncoder;
  readonly hypernet: Hypernetwork | null;
  readonly logitScale: Tensor; // [] log t
  readonly logitBias: Tensor; // []
  private normsByName: Map<string, BatchNorm2d> | null = null;

  constructor(readonly config: ModelConfig) {
    super();
    this.imageEncoder = createImageEncoder(config.image);
    this.imageProjection = new Linear(this.imageEncoder.featureDim, config.embedDim, false);
    this.textEncoder = new TextEncoder(config.text, config.embedDim);
    this.hypernet = config.hypernet === null ? null : new Hypernetwork(config.hypernet, config.embedDim, this.imageEncoder.normLayers());
    this.logitScale = this.parameter(tensor(config.loss.logitScaleInit));
    this.logitBias = this.parameter(tensor(config.loss.logitBiasInit));
  }

  /** ids int64 [B, T] -> text embeddings [B, E] (not normalised). */
  encodeText(ids: Tensor, endPositions?: Tensor): Tensor {
    return this.textEncoder.forward(ids, endPositions);
  }

  /**
   * textEmbeddings [G, S, E]: G tasks of S texts each -> for every generated
   * norm layer, scale = base weight + delta and shift = base bias + delta,
   * [G, C]. The baseline has no hypernetwork and refuses.
   */
  generateNormParams(textEmbeddings: Tensor): NormParams {
    if (this.hypernet === null) throw new Error(`model ${this.config.name} has no hypernetwork: it cannot generate norm parameters`);
    const deltas = this.hypernet.forward(textEmbeddings);
    const norms = this.normModulesByName();
    const params: NormParams = new Map();
    for (const [name, delta] of deltas) {
      const norm = norms.get(name)!;
      params.set(name, { scale: delta.scale.add(norm.weight), shift: delta.shift.add(norm.bias) }); // [G, C]
    }
    return params;
  }

  /**
   * images [N, 3, H, W] -> image embeddings [N, E] (not normalised). With
   * normParams of G rows, images are G consecutive equal blocks, block g
   * conditioned on row g (G = 1: every image on the same task).
   */
  encodeImage(images: ImageInput, normParams?: NormParams): Tensor {
    const overrides = normParams === undefined ? undefined : expandToSamples(normParams, batchOf(images));
    const features = 'block' in images
      ? this.imageEncoder.forwardFrom(images.prefix, images.block, overrides)
      : this.imageEncoder.forward(images, overrides); // [N, D]
    return this.imageProjection.forward(features); // [N, E]
  }

  /**
   * The pre-training loss of a batch of B image-caption pairs. The batch is
   * split into B / groupSize tasks of groupSize consecutive pairs; each
   * task's captions condition the image encoder for that task's images.
   *
   * The loss then spans the WHOLE batch (loss.span = 'batch', the default):
   * every image against every caption. Why: (1) B - 1 negatives per image
   * instead of groupSize - 1, the signal that makes contrastive training work;
   * (2) it is exactly the baseline's loss, so HyperCLIP and SigLIP differ only
   * by the hypernetwork; (3) at deployment the conditioning set (the class
   * prompts) contains the true class, just as in training each image's own
   * caption is in its conditioning set. loss.span = 'group' compares pairs
   * within a task only (fewer, harder-to-learn-from negatives).
   *
   * positives [B, B] (1 = matching pair, see samePositives): captions of the
   * same class are then matches, not negatives; null keeps the diagonal.
   */
  trainingLoss(images: ImageInput, ids: Tensor, groupSize = this.config.hypernet?.groupSize ?? 1, positives: Tensor | null = null): Tensor {
    const batch = batchOf(images);
    if (ids.size(0) !== batch) throw new Error(`batch has ${batch} images but ${ids.size(0)} captions`);
    // The hypernetwork reads normalised embeddings, as zeroShotClassifier gives it at deployment.
    return this.trainingLossFromText(images, F.normalize(this.encodeText(ids), -1), groupSize, positives);
  }

  /**
   * trainingLoss from the captions' normalised embeddings [B, E], already
   * computed: what a frozen text encoder gives once for several passes over
   * one batch (SAM's two, in compression).
   */
  trainingLossFromText(images: ImageInput, textEmbeddings: Tensor, groupSize = this.config.hypernet?.groupSize ?? 1, positives: Tensor | null = null): Tensor {
    const batch = batchOf(images);
    if (textEmbeddings.size(0) !== batch) throw new Error(`batch has ${batch} images but ${textEmbeddings.size(0)} caption embeddings`);
    if (!Number.isInteger(groupSize) || groupSize < 1 || batch % groupSize !== 0) {
      throw new Error(`batch size ${batch} is not divisible by the task group size ${groupSize}`);
    }
    const normParams = this.hypernet === null ? undefined
      : this.generateNormParams(textEmbeddings.reshape([batch / groupSize, groupSize, this.config.embedDim])); // [B/G, C] per layer
    const imageEmbeddings = F.normalize(this.encodeImage(images, normParams), -1); // [B, E]
    const mask = this.config.loss.span === 'group' ? sameGroupMask(batch, groupSize, textEmbeddings.device) : null; // [B, B]
    return this.config.loss.kind === 'siglip'
      ? siglipLoss(imageEmbeddings, textEmbeddings, this.logitScale, this.logitBias, mask, positives)
      : clipLoss(imageEmbeddings, textEmbeddings, this.logitScale, mask, positives);
  }

  /**
   * classPromptIds int64 [K, T] (one prompt per class) or [K, P, T] (P
   * templates, averaged) -> the normalised class embeddings, the norm
   * parameters generated from the whole set of K classes (one task), and the
   * learned scale and bias. Runs without gradients; call eval() first.
   */
  zeroShotClassifier(classPromptIds: Tensor): ZeroShotClassifier {
    if (classPromptIds.ndim !== 2 && classPromptIds.ndim !== 3) {
      throw new Error(`class prompts must be token ids [classes, T] or [classes, templates, T], got [${classPromptIds.shape}]`);
    }
    return noGrad(() => {
      const [K, P, T] = classPromptIds.ndim === 3 ? classPromptIds.shape as [number, number, number] : [classPromptIds.size(0), 1, classPromptIds.size(1)];
      const perPrompt = this.encodePrompts(classPromptIds.reshape([K * P, T])); // [K*P, E]
      const classEmbeddings = F.normalize(perPrompt.reshape([K, P, this.config.embedDim]).mean(1), -1); // [K, E]
      return this.classifierOf(classEmbeddings);
    });
  }

  /**
   * As zeroShotClassifier, for classes with different numbers of prompts:
   * promptIds int64 [N, T] holds promptsPerClass[k] consecutive prompts for
   * class k (sum N). A class's embedding is the mean of its own prompts'
   * normalised embeddings, normalised; the hypernetwork reads the K class
   * embeddings as one task, exactly as there.
   */
  zeroShotClassifierOfPrompts(promptIds: Tensor, promptsPerClass: readonly number[]): ZeroShotClassifier {
    if (promptIds.ndim !== 2) throw new Error(`prompts must be token ids [prompts, T], got [${promptIds.shape}]`);
    if (promptsPerClass.length === 0) throw new Error('no classes: give at least one prompt per class');
    const bad = promptsPerClass.findIndex((n) => !Number.isInteger(n) || n < 1);
    if (bad >= 0) throw new Error(`class ${bad} has ${promptsPerClass[bad]} prompts: every class needs at least one`);
    const total = promptsPerClass.reduce((a, b) => a + b, 0);
    if (total !== promptIds.size(0)) throw new Error(`the prompt counts add up to ${total} but ${promptIds.size(0)} prompts were given`);
    return noGrad(() => {
      const perPrompt = this.encodePrompts(promptIds); // [N, E]
      let start = 0;
      const means = promptsPerClass.map((n) => {
        const mean = perPrompt.narrow(0, start, n).mean(0, true); // [1, E]
        start += n;
        return mean;
      });
      return this.classifierOf(F.normalize(F.cat(means, 0), -1)); // [K, E]
    });
  }

  /** Token ids [N, T] -> normalised text embeddings [N, E], in chunks. */
  private encodePrompts(flat: Tensor): Tensor {
    const N = flat.size(0);
    // In chunks: 202 classes x 80 templates at once held over 2 GB of activations. One
    // chunk needs no slicing, which keeps the traced ONNX generator's class axis dynamic.
    const encode = (ids: Tensor): Tensor => tidy(() => F.normalize(this.encodeText(ids), -1)); // a chunk's activations go at once
    return N <= PROMPT_CHUNK ? encode(flat) : F.cat(
      Array.from({ length: Math.ceil(N / PROMPT_CHUNK) }, (_, c) => encode(flat.narrow(0, c * PROMPT_CHUNK, Math.min(PROMPT_CHUNK, N - c * PROMPT_CHUNK)))),
      0,
    ); // [N, E]
  }

  /** Normalised class embeddings [K, E] -> the classifier: norm parameters generated from the K of them as one task, scale and bias. */
  private classifierOf(classEmbeddings: Tensor): ZeroShotClassifier {
    const normParams = this.hypernet === null ? null : this.generateNormParams(classEmbeddings.unsqueeze(0)); // [1, C] per layer
    const logitBias = this.config.loss.kind === 'siglip' ? this.logitBias.item() : 0;
    return { classEmbeddings, normParams, logitScale: Math.exp(this.logitScale.item()), logitBias };
  }

  /** Image logits against class embeddings: t * <x, y_k> + b, [N, K]. */
  classify(images: Tensor, classifier: ZeroShotClassifier): Tensor {
    const features = F.normalize(this.encodeImage(images, classifier.normParams ?? undefined), -1); // [N, E]
    return features.matmul(classifier.classEmbeddings.transpose(0, 1)).mul(classifier.logitScale).add(classifier.logitBias);
  }

  private normModulesByName(): Map<string, BatchNorm2d> {
    if (this.normsByName === null) {
      this.normsByName = new Map();
      for (const [path, m] of this.imageEncoder.namedModules()) if (m instanceof BatchNorm2d) this.normsByName.set(path, m);
    }
    return this.normsByName;
  }
}

/** [G, C] task rows -> [N, C] sample rows (G consecutive blocks of N / G); [1, C] broadcasts as is. */
function expandToSamples(params: NormParams, samples: number): NormOverrides {
  const out: NormOverrides = new Map();
  for (const [name, { scale, shift }] of params) {
    const [tasks, channels] = scale.shape as [number, number];
    if (tasks === 1 || tasks === samples) {
      out.set(name, { scale, shift });
      continue;
    }
    if (samples % tasks !== 0) throw new Error(`${samples} images cannot be split evenly into ${tasks} tasks`);
    const perTask = samples / tasks;
    const expand = (t: Tensor) => t.unsqueeze(1).expand([tasks, perTask, channels]).reshape([samples, channels]); // [N, C]
    out.set(name, { scale: expand(scale), shift: expand(shift) });
  }
  return out;
}
