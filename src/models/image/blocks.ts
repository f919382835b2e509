// The building blocks shared by the CNN families: conv + norm + activation,
// squeeze-excitation, and the inverted-residual (MBConv) block. Every norm
// layer is addressed by its module path so that a hypernetwork can replace
// its scale and bias per sample.
import { BatchNorm2d, Conv2d, F, Module, init, rand, type Tensor } from '../../engine/index.js';

export type Activation = 'silu' | 'hardswish' | 'relu' | 'relu6' | 'none';
export type Gate = 'sigmoid' | 'hardsigmoid';

/** Per-sample scale and shift for a norm layer: [N, C] (or [1, C] for all samples). */
export interface NormOverride {
  scale: Tensor;
  shift: Tensor;
}
export type NormOverrides = Map<string, NormOverride>;

export interface NormLayerInfo {
  name: string;
  channels: number;
  /** 0 for the stem, 1..S for the body stages, S+1 for the head. */
  stage: number;
}

export function activate(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case 'silu': return x.silu();
    case 'hardswish': return F.hardswish(x);
    case 'relu': return x.relu();
    case 'relu6': return x.relu6();
    case 'none': return x;
  }
}

/** Rounds channels to a multiple of 8, never below 90% of the request (as the MobileNet/EfficientNet papers' code). */
export function makeDivisible(value: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor(value + divisor / 2) - (Math.floor(value + divisor / 2) % divisor));
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

/**
 * 'symmetric': k // 2 on every side (PyTorch's convention). 'tf-same':
 * TensorFlow's SAME, which a strided convolution pads more at the bottom and
 * right; networks imported from TensorFlow files need it to reproduce their
 * outputs.
 */
export type ConvPadding = 'symmetric' | 'tf-same';

export interface ConvNormActOptions {
  stride?: number;
  groups?: number;
  padding?: ConvPadding;
  /** A norm that never uses batch statistics (an imported network's folded batch norm): see BatchNorm2d. */
  frozenNorm?: boolean;
}

/** The activations that are a clamp of their input. */
const CLAMPS: Partial<Record<Activation, F.ClampBounds>> = { none: {}, relu: { min: 0 }, relu6: { min: 0, max: 6 } };

export class ConvNormAct extends Module {
  readonly conv: Conv2d;
  readonly norm: BatchNorm2d;
  /** The norm layer's path in the encoder; set by the encoder after construction. */
  normName = '';
  /** TensorFlow's SAME padding added before a strided conv (whose own padding is then 0): the output is ceil(input / stride). */
  readonly explicitPadding: boolean;

  constructor(inC: number, outC: number, readonly kernel: number, readonly act: Activation, readonly stage: number,
    options: ConvNormActOptions = {}) {
    super();
    const stride = options.stride ?? 1;
    // TensorFlow's SAME equals the symmetric padding unless the convolution is strided.
    this.explicitPadding = options.padding === 'tf-same' && stride > 1;
    this.conv = new Conv2d(inC, outC, kernel, { stride, groups: options.groups ?? 1, bias: false, padding: this.explicitPadding ? 0 : Math.floor(kernel / 2) });
    // He init over fan-out, as the EfficientNet and MobileNet references: keeps activations at scale without BN's help.
    init.kaimingNormal_(this.conv.weight, 'fanOut');
    this.norm = options.frozenNorm === true ? new BatchNorm2d(outC, 0, 0, true) : new BatchNorm2d(outC);
  }

  forward(x: Tensor, overrides?: NormOverrides): Tensor {
    const input = this.explicitPadding ? padTfSame(x, this.kernel, this.conv.stride) : x;
    const y = this.conv.forward(input); // [N, outC, H', W']
    if (input !== x) input.dispose();
    const o = overrides?.get(this.normName);
    // relu and relu6 are clamps: where the norm can, it applies them in its own pass (BatchNorm2d.forwardClamped).
    const bounds = CLAMPS[this.act];
    const fused = bounds === undefined ? null : this.norm.forwardClamped(y, bounds, o?.scale, o?.shift);
    if (fused !== null) return fused;
    const normed = o === undefined ? this.norm.forward(y) : this.norm.forward(y, o.scale, o.shift);
    return activate(normed, this.act);
  }
}

/** TensorFlow's SAME padding of x [N, C, H, W] for a strided kernel: the odd pixel goes after. */
function padTfSame(x: Tensor, kernel: number, stride: number): Tensor {
  const sides = (n: number): [number, number] => {
    const total = Math.max((Math.ceil(n / stride) - 1) * stride + kernel - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [top, bottom] = sides(x.size(2));
  const [left, right] = sides(x.size(3));
  return F.pad(x, [left, right, top, bottom]);
}

export class SqueezeExcite extends Module {
  readonly reduce: Conv2d;
  readonly expand: Conv2d;

  constructor(channels: number, reduced: number, readonly act: Activation, readonly gate: Gate) {
    super();
    this.reduce = new Conv2d(channels, reduced, 1, { bias: true });
    this.expand = new Conv2d(reduced, channels, 1, { bias: true });
  }

  forward(x: Tensor): Tensor {
    const pooled = x.mean([2, 3], true); // [N, C, 1, 1]
    const hidden = activate(this.reduce.forward(pooled), this.act); // [N, R, 1, 1]
    const logits = this.expand.forward(hidden); // [N, C, 1, 1]
    const weights = this.gate === 'sigmoid' ? logits.sigmoid() : F.hardsigmoid(logits);
    return x.mul(weights);
  }
}

export interface MBConvSpec {
  inC: number;
  midC: number;
  outC: number;
  /** Whether the block has a 1x1 expansion conv; default: when midC differs from inC (pruning can make them equal). */
  expands?: boolean;
  kernel: number;
  stride: number;
  act: Activation;
  /** Squeeze-excitation hidden channels, or 0 for none. */
  seChannels: number;
  seAct: Activation;
  seGate: Gate;
  dropPath: number;
  stage: number;
  /** Padding and norm of every conv of the block (an imported network's layout); default: symmetric, batch statistics. */
  conv?: Pick<ConvNormActOptions, 'padding' | 'frozenNorm'>;
}

/** Inverted residual: 1x1 expand, depthwise kxk, squeeze-excitation, 1x1 project, residual with stochastic depth. */
export class MBConv extends Module {
  readonly expandConv: ConvNormAct | null;
  readonly depthwise: ConvNormAct;
  readonly se: SqueezeExcite | null;
  readonly project: ConvNormAct;
  readonly residual: boolean;
  readonly dropPath: number;

  constructor(s: MBConvSpec) {
    super();
    this.expandConv = (s.expands ?? s.midC !== s.inC) ? new ConvNormAct(s.inC, s.midC, 1, s.act, s.stage, s.conv) : null;
    this.depthwise = new ConvNormAct(s.midC, s.midC, s.kernel, s.act, s.stage, { ...s.conv, stride: s.stride, groups: s.midC });
    this.se = s.seChannels > 0 ? new SqueezeExcite(s.midC, s.seChannels, s.seAct, s.seGate) : null;
    this.project = new ConvNormAct(s.midC, s.outC, 1, 'none', s.stage, s.conv);
    this.residual = s.stride === 1 && s.inC === s.outC;
    this.dropPath = s.dropPath;
  }

  forward(x: Tensor, overrides?: NormOverrides): Tensor {
    let h = this.expandConv === null ? x : this.expandConv.forward(x, overrides); // [N, mid, H, W]
    h = this.depthwise.forward(h, overrides); // [N, mid, H/s, W/s]
    if (this.se !== null) h = this.se.forward(h);
    h = this.project.forward(h, overrides); // [N, out, H/s, W/s]
    if (!this.residual) return h;
    return x.add(this.training && this.dropPath > 0 ? dropSamples(h, this.dropPath) : h);
  }
}

/** An explicit list of expanded widths (image.channels.expanded) must name every block. */
export function checkExpandedCount(expanded: number[] | undefined, blocks: number): void {
  if (expanded !== undefined && expanded.length !== blocks) {
    throw new Error(`image.channels.expanded lists ${expanded.length} blocks but the encoder has ${blocks}`);
  }
}

/** Stochastic depth: zeroes whole samples of a residual branch with probability p, rescaling the rest. */
function dropSamples(x: Tensor, p: number): Tensor {
  const keepMask = rand([x.size(0), 1, 1, 1], { device: x.device }).ge(p).to('float32'); // [N, 1, 1, 1]
  return x.mul(keepMask.div(1 - p));
}
