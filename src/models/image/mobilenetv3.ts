// MobileNetV3 (Howard et al. 2019): inverted residuals with hardswish and
// squeeze-excitation gated by hardsigmoid; small and large layouts, scaled
// by a width multiplier.
import type { ChannelWidths, MobileNetV3Config } from '../config.js';
import { ConvNormAct, MBConv, checkExpandedCount, makeDivisible, type Activation } from './blocks.js';
import { CnnEncoder } from './cnn-encoder.js';

// kernel, expanded channels, output channels, squeeze-excitation, activation, stride (the paper's tables 1 and 2).
type Row = [number, number, number, boolean, 'RE' | 'HS', number];
const LARGE: Row[] = [
  [3, 16, 16, false, 'RE', 1], [3, 64, 24, false, 'RE', 2], [3, 72, 24, false, 'RE', 1],
  [5, 72, 40, true, 'RE', 2], [5, 120, 40, true, 'RE', 1], [5, 120, 40, true, 'RE', 1],
  [3, 240, 80, false, 'HS', 2], [3, 200, 80, false, 'HS', 1], [3, 184, 80, false, 'HS', 1], [3, 184, 80, false, 'HS', 1],
  [3, 480, 112, true, 'HS', 1], [3, 672, 112, true, 'HS', 1],
  [5, 672, 160, true, 'HS', 2], [5, 960, 160, true, 'HS', 1], [5, 960, 160, true, 'HS', 1],
];
const SMALL: Row[] = [
  [3, 16, 16, true, 'RE', 2], [3, 72, 24, false, 'RE', 2], [3, 88, 24, false, 'RE', 1],
  [5, 96, 40, true, 'HS', 2], [5, 240, 40, true, 'HS', 1], [5, 240, 40, true, 'HS', 1],
  [5, 120, 48, true, 'HS', 1], [5, 144, 48, true, 'HS', 1],
  [5, 288, 96, true, 'HS', 2], [5, 576, 96, true, 'HS', 1], [5, 576, 96, true, 'HS', 1],
];
const LAST_CONV = { large: 960, small: 576 } as const;

export class MobileNetV3 extends CnnEncoder {
  readonly stem: ConvNormAct;
  readonly blocks: MBConv[];
  readonly head: ConvNormAct;
  readonly featureDim: number;

  constructor(c: MobileNetV3Config & { channels?: ChannelWidths }, channelsLast: boolean) {
    super(channelsLast);
    const width = (ch: number) => makeDivisible(ch * c.widthMultiplier);
    const rows = c.variant === 'large' ? LARGE : SMALL;
    let inC = width(16);
    this.stem = new ConvNormAct(3, inC, 3, 'hardswish', 0, { stride: 2 });
    this.blocks = [];
    // A new stage starts wherever the output width changes.
    let stage = 0;
    let previousOut = -1;
    rows.forEach(([kernel, expanded, out, se, act, stride], i) => {
      const outC = width(out);
      const expands = width(expanded) !== inC;
      const midC = expands ? c.channels?.expanded?.[i] ?? width(expanded) : inC;
      if (outC !== previousOut) stage++;
      previousOut = outC;
      const activation: Activation = act === 'RE' ? 'relu' : 'hardswish';
      this.blocks.push(new MBConv({
        inC, midC, outC, expands, kernel, stride, act: activation,
        seChannels: se ? makeDivisible(width(expanded) / 4) : 0, seAct: 'relu', seGate: 'hardsigmoid',
        dropPath: (c.dropPath * i) / rows.length, stage,
      }));
      inC = outC;
    });
    checkExpandedCount(c.channels?.expanded, this.blocks.length);
    this.featureDim = c.channels?.head ?? width(LAST_CONV[c.variant]);
    this.head = new ConvNormAct(inC, this.featureDim, 1, 'hardswish', stage + 1);
    this.finishLayers();
  }
}
