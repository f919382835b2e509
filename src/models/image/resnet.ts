// A plain ResNet (He et al. 2016): stages of basic blocks, two dense 3x3
// convolutions with a residual connection, ReLU. The comparison point for
// the depthwise families: dense convolutions do more arithmetic per pixel but
// run closer to the CPU's peak (docs/recipe-probes.md compares them).
import { Module, type Tensor } from '../../engine/index.js';
import type { ResNetConfig } from '../config.js';
import { ConvNormAct, makeDivisible, type NormOverrides } from './blocks.js';
import { CnnEncoder } from './cnn-encoder.js';

export interface BasicBlockSpec {
  inC: number;
  outC: number;
  stride: number;
  stage: number;
}

/** conv3x3-norm-ReLU, conv3x3-norm, plus the input (through a strided 1x1 conv and norm where the shape changes), then ReLU. */
export class BasicBlock extends Module {
  readonly conv1: ConvNormAct;
  readonly conv2: ConvNormAct;
  readonly shortcut: ConvNormAct | null;

  constructor(s: BasicBlockSpec) {
    super();
    this.conv1 = new ConvNormAct(s.inC, s.outC, 3, 'relu', s.stage, { stride: s.stride });
    this.conv2 = new ConvNormAct(s.outC, s.outC, 3, 'none', s.stage);
    this.shortcut = s.stride === 1 && s.inC === s.outC ? null : new ConvNormAct(s.inC, s.outC, 1, 'none', s.stage, { stride: s.stride });
  }

  forward(x: Tensor, overrides?: NormOverrides): Tensor {
    const branch = this.conv2.forward(this.conv1.forward(x, overrides), overrides); // [N, out, H/s, W/s]
    const identity = this.shortcut === null ? x : this.shortcut.forward(x, overrides); // [N, out, H/s, W/s]
    return branch.add(identity).relu();
  }
}

export class ResNet extends CnnEncoder {
  readonly stem: ConvNormAct;
  readonly blocks: BasicBlock[];
  readonly head: ConvNormAct;
  readonly featureDim: number;

  constructor(c: ResNetConfig, channelsLast: boolean) {
    super(channelsLast);
    const width = (ch: number) => makeDivisible(ch * c.widthMultiplier);
    let inC = width(c.stemChannels);
    this.stem = new ConvNormAct(3, inC, 3, 'relu', 0, { stride: c.stemStride });
    this.blocks = [];
    c.stages.forEach((s, stageIndex) => {
      const outC = width(s.channels);
      for (let b = 0; b < s.blocks; b++) {
        this.blocks.push(new BasicBlock({ inC, outC, stride: b === 0 ? s.stride : 1, stage: stageIndex + 1 }));
        inC = outC;
      }
    });
    this.featureDim = width(c.headChannels);
    this.head = new ConvNormAct(inC, this.featureDim, 1, 'relu', c.stages.length + 1);
    this.finishLayers();
  }
}
