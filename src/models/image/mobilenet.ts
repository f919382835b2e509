// MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018) in the
// layout of the ImageNet-pretrained TensorFlow Lite files that
// src/models/import reads: ReLU6, TensorFlow's SAME padding, and batch norm
// already folded into each convolution, so every norm here is a per-channel
// affine with frozen statistics (scale 1 and the folded shift at import).
// The hypernetwork generates those scales and shifts as on our own families.
import { Module, tensor, type Tensor } from '../../engine/index.js';
import type { ChannelWidths, MobileNetV1Config, MobileNetV2Config } from '../config.js';
import { CLIP_MEAN, CLIP_STD } from '../../data/preprocess.js';
import { ConvNormAct, MBConv, checkExpandedCount, makeDivisible, type ConvNormActOptions, type NormOverrides } from './blocks.js';
import { CnnEncoder } from './cnn-encoder.js';

const IMPORTED: Pick<ConvNormActOptions, 'padding' | 'frozenNorm'> = { padding: 'tf-same', frozenNorm: true };

/** v1's depthwise-separable blocks: output channels and depthwise stride (the paper's table 1). */
const V1_BLOCKS: [number, number][] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

/** v2's inverted-residual stages: expansion, output channels, blocks, first stride (the paper's table 2). */
const V2_STAGES: [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/** v1's channel rule (TensorFlow's): floor(d * width), at least 8. */
export const v1Channels = (d: number, width: number): number => Math.max(Math.floor(d * width), 8);

/**
 * The pretrained weights expect pixel / 128 - 1 (RGB); the project's images
 * come CLIP-normalised. One per-channel affine maps one to the other, so the
 * data pipeline, the caches and the deployed classifiers stay as they are.
 */
abstract class ImportedMobileNet extends CnnEncoder {
  private readonly inputScale: Tensor; // [1, 3, 1, 1]
  private readonly inputShift: Tensor; // [1, 3, 1, 1]

  constructor(channelsLast: boolean) {
    super(channelsLast);
    this.inputScale = this.buffer(tensor(CLIP_STD.map((s) => (s * 255) / 128), [1, 3, 1, 1]));
    this.inputShift = this.buffer(tensor(CLIP_MEAN.map((m) => (m * 255) / 128 - 1), [1, 3, 1, 1]));
  }

  protected override adaptInput(images: Tensor): Tensor {
    const scaled = images.mul(this.inputScale);
    const out = scaled.add(this.inputShift);
    scaled.dispose();
    return out;
  }
}

/** Depthwise 3x3 + ReLU6, then pointwise 1x1 + ReLU6. */
export class DepthwiseSeparable extends Module {
  readonly depthwise: ConvNormAct;
  readonly pointwise: ConvNormAct;

  constructor(inC: number, outC: number, stride: number, stage: number) {
    super();
    this.depthwise = new ConvNormAct(inC, inC, 3, 'relu6', stage, { ...IMPORTED, stride, groups: inC });
    this.pointwise = new ConvNormAct(inC, outC, 1, 'relu6', stage, IMPORTED);
  }

  forward(x: Tensor, overrides?: NormOverrides): Tensor {
    const h = this.depthwise.forward(x, overrides);
    const out = this.pointwise.forward(h, overrides);
    h.dispose();
    return out;
  }
}

export class MobileNetV1 extends ImportedMobileNet {
  readonly stem: ConvNormAct;
  readonly blocks: DepthwiseSeparable[];
  readonly head = null;
  readonly featureDim: number;

  constructor(c: MobileNetV1Config, channelsLast: boolean) {
    super(channelsLast);
    let inC = v1Channels(32, c.widthMultiplier);
    this.stem = new ConvNormAct(3, inC, 3, 'relu6', 0, { ...IMPORTED, stride: 2 });
    this.blocks = [];
    // A stage is a run of blocks at one width: 64, 128, 256, 512, 1024 -> stages 1-5.
    let stage = 0;
    let previousOut = -1;
    for (const [out, stride] of V1_BLOCKS) {
      const outC = v1Channels(out, c.widthMultiplier);
      if (outC !== previousOut) stage++;
      previousOut = outC;
      this.blocks.push(new DepthwiseSeparable(inC, outC, stride, stage));
      inC = outC;
    }
    this.featureDim = inC;
    this.finishLayers();
  }
}

export class MobileNetV2 extends ImportedMobileNet {
  readonly stem: ConvNormAct;
  readonly blocks: MBConv[];
  readonly head: ConvNormAct;
  readonly featureDim: number;

  /** c.channels: the widths channel pruning left (src/compress), instead of the table's. */
  constructor(c: MobileNetV2Config & { channels?: ChannelWidths }, channelsLast: boolean) {
    super(channelsLast);
    const width = (ch: number) => makeDivisible(ch * c.widthMultiplier);
    let inC = width(32);
    this.stem = new ConvNormAct(3, inC, 3, 'relu6', 0, { ...IMPORTED, stride: 2 });
    this.blocks = [];
    V2_STAGES.forEach(([expand, out, repeats, stride], stageIndex) => {
      const outC = width(out);
      for (let r = 0; r < repeats; r++) {
        const midC = expand !== 1 ? c.channels?.expanded?.[this.blocks.length] ?? inC * expand : inC;
        this.blocks.push(new MBConv({
          inC, midC, outC, expands: expand !== 1, kernel: 3, stride: r === 0 ? stride : 1, act: 'relu6',
          seChannels: 0, seAct: 'none', seGate: 'sigmoid', dropPath: 0, stage: stageIndex + 1, conv: IMPORTED,
        }));
        inC = outC;
      }
    });
    checkExpandedCount(c.channels?.expanded, this.blocks.length);
    // The last conv keeps 1280 channels below width 1 (the paper's rule).
    this.featureDim = c.channels?.head ?? (c.widthMultiplier > 1 ? width(1280) : 1280);
    this.head = new ConvNormAct(inC, this.featureDim, 1, 'relu6', V2_STAGES.length + 1, IMPORTED);
    this.finishLayers();
  }
}
