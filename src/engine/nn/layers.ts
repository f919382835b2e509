// The standard layers. Initialisation follows PyTorch's defaults so that
// side-by-side benchmarks and ports behave alike.
import * as F from '../functional.js';
import { kaimingUniformDefault_, ones_, uniform_, normal_ } from '../init.js';
import { ones, zeros, type Tensor } from '../tensor.js';
import { Module } from './module.js';
import { activeTracer } from '../trace.js';

export class Linear extends Module {
  readonly weight: Tensor; // [out, in]
  readonly bias: Tensor | null; // [out]

  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = this.parameter(kaimingUniformDefault_(zeros([outFeatures, inFeatures])));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = bias ? this.parameter(uniform_(zeros([outFeatures]), -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export interface Conv2dConfig {
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor; // [out, in/groups, k, k]
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, config: Conv2dConfig = {}) {
    super();
    this.stride = config.stride ?? 1;
    this.padding = config.padding ?? Math.floor(kernel / 2);
    this.groups = config.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`Conv2d: channels ${inChannels} -> ${outChannels} are not divisible by groups ${this.groups}`);
    }
    this.weight = this.parameter(kaimingUniformDefault_(zeros([outChannels, inChannels / this.groups, kernel, kernel])));
    const bound = 1 / Math.sqrt((inChannels / this.groups) * kernel * kernel);
    this.bias = config.bias ? this.parameter(uniform_(zeros([outChannels]), -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, groups: this.groups });
  }
}

/**
 * Batch norm whose scale and bias can come from outside: forward(x, scale, shift)
 * uses the given tensors ([C], or per-sample [N, C]) instead of its own, with
 * gradients flowing into whatever produced them.
 */
export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  /**
   * frozenStatistics: normalise by the running statistics in training too and
   * never update them. A pretrained network whose batch norm was folded into
   * its convolutions gets such a norm (mean 0, variance 1, eps 0): a
   * per-channel affine that the hypernetwork can still generate.
   */
  constructor(readonly channels: number, readonly eps = 1e-5, readonly momentum = 0.1, readonly frozenStatistics = false) {
    super();
    this.weight = this.parameter(ones([channels]));
    this.bias = this.parameter(zeros([channels]));
    this.runningMean = this.buffer(zeros([channels]));
    this.runningVar = this.buffer(ones([channels]));
  }

  forward(x: Tensor, scale: Tensor = this.weight, shift: Tensor = this.bias): Tensor {
    if (scale.ndim === 1 && shift.ndim === 1) return F.batchNorm(x, this.runningMean, this.runningVar, scale, shift, this.options());
    return this.forwardClamped(x, {}, scale, shift) ?? this.standardPerSample(x, scale, shift);
  }

  /**
   * forward(x, scale, shift) then a clamp (relu is { min: 0 }, relu6
   * { min: 0, max: 6 }), as one channelAffine pass forward and one backward,
   * where the norm uses running statistics (frozen, as an imported network's,
   * or in eval): the normalisation folds into the affine, x * (scale / std) +
   * (shift - mean * scale / std), so a generated per-sample norm costs no
   * separate normalisation pass. Null otherwise, and under a tracer (which
   * records the standard ops that the ONNX passes fold): the caller then
   * applies forward() and its activation. With batch statistics the standard
   * ops stay, as PyTorch computes them (bitwise: test/train/torch-parity): a
   * fused backward sums in another order, which moves gradients that cancel
   * to zero by their rounding.
   */
  forwardClamped(x: Tensor, bounds: F.ClampBounds, scale: Tensor = this.weight, shift: Tensor = this.bias): Tensor | null {
    if (activeTracer() !== null || this.options().training) return null;
    // Without a clamp, batch norm with [C] parameters is already one pass.
    if (scale.ndim === 1 && shift.ndim === 1 && bounds.min === undefined && bounds.max === undefined) return null;
    const invStd = this.runningVar.add(this.eps).rsqrt(); // [C]
    const a = scale.mul(invStd); // [C] or [N, C]
    const meanTerm = a.mul(this.runningMean);
    const b = shift.sub(meanTerm);
    const out = F.channelAffine(x, a, b, bounds);
    for (const t of [invStd, a, meanTerm, b]) t.dispose();
    return out;
  }

  private options(): F.BatchNormOptions {
    return { training: this.training && !this.frozenStatistics, momentum: this.momentum, eps: this.eps };
  }

  /** Per-sample affine as standard ops: normalise without affine, then shift[N, C, 1, 1] + x * scale[N, C, 1, 1] (addcmul). */
  private standardPerSample(x: Tensor, scale: Tensor, shift: Tensor): Tensor {
    const normalized = F.batchNorm(x, this.runningMean, this.runningVar, null, null, this.options());
    const s = scale.reshape([scale.size(0), this.channels, 1, 1]);
    const b = shift.reshape([shift.size(0), this.channels, 1, 1]);
    const out = F.addcmul(b, normalized, s);
    for (const t of [normalized, s, b]) t.dispose();
    return out;
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(readonly features: number, readonly eps = 1e-5) {
    super();
    this.weight = this.parameter(ones([features]));
    this.bias = this.parameter(zeros([features]));
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, [this.features], this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor; // [V, D]

  constructor(readonly count: number, readonly dim: number, std = 1) {
    super();
    this.weight = this.parameter(normal_(zeros([count, dim]), 0, std));
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(this.weight, indices);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}
