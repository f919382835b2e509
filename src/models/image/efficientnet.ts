// EfficientNet (Tan & Le 2019): MBConv stages with squeeze-excitation and
// SiLU. Width and depth multipliers scale B0's table, so B0/B1/B2-like and
// tiny CPU sizes come from this one definition (resolution is the config's
// imageSize).
import type { ChannelWidths, EfficientNetConfig } from '../config.js';
import { ConvNormAct, MBConv, checkExpandedCount, makeDivisible } from './blocks.js';
import { CnnEncoder } from './cnn-encoder.js';

export class EfficientNet extends CnnEncoder {
  readonly stem: ConvNormAct;
  readonly blocks: MBConv[];
  readonly head: ConvNormAct;
  readonly featureDim: number;

  constructor(c: EfficientNetConfig & { channels?: ChannelWidths }, channelsLast: boolean) {
    super(channelsLast);
    const width = (ch: number) => makeDivisible(ch * c.widthMultiplier);
    const stemC = width(c.stemChannels);
    this.stem = new ConvNormAct(3, stemC, 3, 'silu', 0, { stride: 2 });
    const plan = c.stages.map((s) => ({ ...s, repeats: Math.ceil(s.repeats * c.depthMultiplier) }));
    const total = plan.reduce((n, s) => n + s.repeats, 0);
    this.blocks = [];
    let inC = stemC;
    plan.forEach((s, stageIndex) => {
      const outC = width(s.channels);
      for (let r = 0; r < s.repeats; r++) {
        const expands = s.expand !== 1;
        const midC = expands ? c.channels?.expanded?.[this.blocks.length] ?? inC * s.expand : inC;
        this.blocks.push(new MBConv({
          inC, midC, outC, expands, kernel: s.kernel, stride: r === 0 ? s.stride : 1, act: 'silu',
          seChannels: c.seRatio > 0 ? Math.max(1, Math.floor(inC * c.seRatio)) : 0, seAct: 'silu', seGate: 'sigmoid',
          dropPath: (c.dropPath * this.blocks.length) / total, stage: stageIndex + 1,
        }));
        inC = outC;
      }
    });
    checkExpandedCount(c.channels?.expanded, this.blocks.length);
    this.featureDim = c.channels?.head ?? width(c.headChannels);
    this.head = new ConvNormAct(inC, this.featureDim, 1, 'silu', plan.length + 1);
    this.finishLayers();
  }
}
