// The standard layers. Initialisation follows PyTorch's defaults so that
// side-by-side benchmarks and ports behave alike.
import * as F from '../functional.js';
import { kaimingUniformDefault_, ones_, uniform_, normal_ } from '../init.js';
import { ones, zeros, type Tensor } from '../tensor.js';
import { Module } from './module.js';

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
    const options = { training: this.training && !this.frozenStatistics, momentum: this.momentum, eps: this.eps };
    if (scale.ndim === 1 && shift.ndim === 1) {
      return F.batchNorm(x, this.runningMean, this.runningVar, scale, shift, options);
    }
    // Per-sample affine: normalise without affine, then shift[N, C, 1, 1] + x * scale[N, C, 1, 1] in one
    // pass (addcmul): a separate mul and add wrote and read one more activation-sized tensor per layer.
    const normalized = F.batchNorm(x, this.runningMean, this.runningVar, null, null, options);
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
