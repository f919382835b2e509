// Initialisers: fill a tensor in place from the seeded generator.
import { noGrad } from './runtime.js';
import { rand, randn, type Tensor } from './tensor.js';

function fanInOut(t: Tensor): [number, number] {
  const shape = t.shape;
  if (shape.length < 2) throw new Error(`fan in/out needs at least 2 dimensions, got shape [${shape}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1]! * receptive, shape[0]! * receptive];
}

function fillFrom(t: Tensor, make: () => Tensor): Tensor {
  noGrad(() => {
    const values = make();
    t.copy_(values);
    values.dispose();
  });
  return t;
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return fillFrom(t, () => {
    const z = randn(t.shape);
    const scaled = z.mul(std).add(mean);
    z.dispose();
    return scaled;
  });
}

export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return fillFrom(t, () => {
    const u = rand(t.shape);
    const scaled = u.mul(high - low).add(low);
    u.dispose();
    return scaled;
  });
}

/** Normal clipped to [mean - 2 std, mean + 2 std] (as timm's trunc_normal_). */
export function truncNormal_(t: Tensor, std = 0.02): Tensor {
  return fillFrom(t, () => {
    const z = randn(t.shape);
    const clipped = z.clamp(-2, 2);
    const scaled = clipped.mul(std);
    z.dispose();
    clipped.dispose();
    return scaled;
  });
}

export function kaimingNormal_(t: Tensor, mode: 'fanIn' | 'fanOut' = 'fanOut', gain = Math.SQRT2): Tensor {
  const [fanIn, fanOut] = fanInOut(t);
  return normal_(t, 0, gain / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut));
}

/** PyTorch's default for Linear and Conv weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function kaimingUniformDefault_(t: Tensor): Tensor {
  const [fanIn] = fanInOut(t);
  const bound = 1 / Math.sqrt(fanIn);
  return uniform_(t, -bound, bound);
}

export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fanInOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export const zeros_ = (t: Tensor): Tensor => t.fill_(0);
export const ones_ = (t: Tensor): Tensor => t.fill_(1);
export const constant_ = (t: Tensor, value: number): Tensor => t.fill_(value);
