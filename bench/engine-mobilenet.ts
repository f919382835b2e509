// The engine's side of bench:engine's ImageNet MobileNet v2 rows: the
// project's own MobileNetV2 (width 1.0) built as the TFLite importer builds
// it (createImageEncoder on a mobilenetv2 config: ReLU6, TensorFlow's SAME
// padding, frozen-statistics batch norm) with a 1000-class linear head, on
// random images. bench/reference/mobilenet_v2.py is the same network in PyTorch.
import { AdamW, F, manualSeed, noGrad, randint, randn, tidy, type Tensor } from '../src/engine/index.js';
import { CLIP_MEAN, CLIP_STD } from '../src/data/preprocess.js';
import { createImageEncoder } from '../src/models/image/encoder.js';
import { resolveConfig } from '../src/models/config.js';
import { LabelClassifier } from '../src/models/label-classifier.js';
import { timeSteps, type BenchSession } from './engine-runs.js';

export const IMAGENET_CLASSES = 1000;

/** One MobileNet v2 row: what the engine and the PyTorch reference both build from it. */
export interface MobileNetRowSpec {
  mode: 'train' | 'infer';
  size: number;
  batch: number;
  layout: 'contiguous' | 'channels_last';
}

/**
 * The imported network's input adapter (CLIP-normalised pixels -> pixel / 128 - 1),
 * sent to the PyTorch side so that both compute the same first op from one source.
 */
export const INPUT_AFFINE = {
  scale: CLIP_STD.map((s) => (s * 255) / 128),
  shift: CLIP_MEAN.map((m) => (m * 255) / 128 - 1),
};

/** train: forward, cross-entropy, backward, AdamW step. infer: a forward without autograd, in eval mode. */
export class MobileNetSession implements BenchSession {
  private readonly model: LabelClassifier;
  private readonly inputs: Tensor; // [B, 3, S, S]
  private readonly targets: Tensor; // [B] int64
  private readonly optimizer: AdamW | null;

  constructor(private readonly spec: MobileNetRowSpec) {
    manualSeed(0);
    const channelsLast = spec.layout === 'channels_last';
    const image = resolveConfig({ image: { family: 'mobilenetv2', widthMultiplier: 1, imageSize: spec.size, channelsLast } }).image;
    this.model = new LabelClassifier(createImageEncoder(image), IMAGENET_CLASSES);
    const images = randn([spec.batch, 3, spec.size, spec.size]);
    this.inputs = channelsLast ? images.contiguous('channels-last') : images;
    if (this.inputs !== images) images.dispose();
    this.targets = randint(0, IMAGENET_CLASSES, [spec.batch]);
    if (spec.mode === 'train') {
      this.model.train();
      this.optimizer = new AdamW(this.model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
    } else {
      this.model.eval();
      this.optimizer = null;
    }
  }

  get parameterCount(): number {
    return this.model.parameterCount();
  }

  step(): void {
    if (this.optimizer === null) {
      noGrad(() => tidy(() => { this.model.forward(this.inputs); }));
      return;
    }
    const optimizer = this.optimizer;
    tidy(() => {
      optimizer.zeroGrad();
      F.crossEntropy(this.model.forward(this.inputs), this.targets).backward();
      optimizer.step();
    });
  }

  time(steps: number): number[] {
    return timeSteps(() => this.step(), steps);
  }

  /** Cross-entropy on the batch now (about ln 1000 = 6.9 untrained), then releases everything. */
  close(): number {
    const loss = noGrad(() => tidy(() => F.crossEntropy(this.model.forward(this.inputs), this.targets).item()));
    this.optimizer?.dispose();
    this.model.dispose();
    this.inputs.dispose();
    this.targets.dispose();
    return loss;
  }
}
