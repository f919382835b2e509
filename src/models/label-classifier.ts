// An image encoder with a linear head over a labelled dataset's classes: the
// supervised first stage of a recipe (trained with cross-entropy), and an
// imported ImageNet network with its 1000-class head. Its parameters are
// named as in the full model ("imageEncoder.…"), so a contrastive recipe can
// start from its checkpoint with init: { parts: ["imageEncoder"] }.
import { F, Linear, Module, tensor, type Tensor } from '../engine/index.js';
import type { ImageEncoder } from './image/encoder.js';

export class LabelClassifier extends Module {
  readonly head: Linear;

  constructor(readonly imageEncoder: ImageEncoder, readonly classes: number) {
    super();
    if (!Number.isInteger(classes) || classes < 2) throw new Error(`a label classifier needs at least 2 classes, got ${classes}`);
    this.head = new Linear(imageEncoder.featureDim, classes);
  }

  /** images [N, 3, H, W] -> logits [N, classes]. */
  forward(images: Tensor): Tensor {
    return this.head.forward(this.imageEncoder.forward(images));
  }

  /** Mean cross-entropy of a batch; labels outside [0, classes) are a setup error, not data noise. */
  loss(images: Tensor, labels: Int32Array): Tensor {
    for (const label of labels) {
      if (!(label >= 0 && label < this.classes)) throw new Error(`label ${label} is outside the ${this.classes} classes of the classify objective`);
    }
    const targets = tensor(BigInt64Array.from(labels, (l) => BigInt(l)), [labels.length]); // [N] int64
    return F.crossEntropy(this.forward(images), targets);
  }
}
