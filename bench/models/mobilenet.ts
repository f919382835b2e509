// The reference MobileNetV2-style CNN of the engine benchmark (32x32 input),
// written with the engine's layers; bench/reference/engine.py builds the same
// network in PyTorch.
import { BatchNorm2d, Conv2d, F, Linear, Module, type Tensor } from '../../src/engine/index.js';

/** (expansion t, channels c, repeats n, first stride s) per stage, as in the MobileNetV2 paper. */
export const MOBILENET_BLOCKS: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 3, 2], [6, 96, 3, 1],
];

/** Conv (no bias), batch norm, optional ReLU6. */
export class ConvBN extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(cin: number, cout: number, kernel: number, stride = 1, groups = 1, readonly activate = true) {
    super();
    this.conv = new Conv2d(cin, cout, kernel, { stride, groups });
    this.bn = new BatchNorm2d(cout);
  }

  forward(x: Tensor): Tensor {
    const y = this.bn.forward(this.conv.forward(x));
    return this.activate ? F.relu6(y) : y;
  }
}

export class InvertedResidual extends Module {
  readonly layers: ConvBN[];
  readonly residual: boolean;

  constructor(cin: number, cout: number, stride: number, expand: number) {
    super();
    const hidden = cin * expand;
    this.layers = [
      ...(expand !== 1 ? [new ConvBN(cin, hidden, 1)] : []),
      new ConvBN(hidden, hidden, 3, stride, hidden), // depthwise
      new ConvBN(hidden, cout, 1, 1, 1, false),
    ];
    this.residual = stride === 1 && cin === cout;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    return this.residual ? x.add(y) : y;
  }
}

export class MobileNetV2 extends Module {
  readonly features: Module[];
  readonly head: Linear;

  constructor(classes = 10) {
    super();
    const layers: Module[] = [new ConvBN(3, 32, 3)];
    let cin = 32;
    for (const [t, c, n, s] of MOBILENET_BLOCKS) {
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(cin, c, i === 0 ? s : 1, t));
        cin = c;
      }
    }
    layers.push(new ConvBN(cin, 1280, 1));
    this.features = layers;
    this.head = new Linear(1280, classes);
  }

  forward(images: Tensor): Tensor {
    let x = images; // [B, 3, 32, 32]
    for (const layer of this.features) x = (layer as ConvBN | InvertedResidual).forward(x); // [B, 1280, 4, 4]
    const pooled = F.adaptiveAvgPool2d(x, 1).flatten(1); // [B, 1280]
    return this.head.forward(pooled); // [B, classes]
  }
}
