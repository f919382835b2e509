// The input-feature statistics Wanda scores with: for every column j of a
// layer's weight, the sum over calibration data of x_j^2 (the squared L2
// norm ||X_j||^2). A convolution is a linear map of its unfolded input, so
// its columns are (input channel, kernel row, kernel column) and each one
// sums the padded input it meets at that kernel offset over all output
// positions.
import { F, noGrad, tidy, type Tensor } from '../engine/index.js';

/** x [..., in] -> sum of squares per input feature, [in]. */
export function linearInputSquares(x: Tensor): Float64Array {
  return noGrad(() => tidy(() => {
    const rows = x.ndim === 1 ? x.unsqueeze(0) : x.flatten(0, -2); // [M, in]
    return Float64Array.from(rows.square().sum(0).toArray());
  }));
}

export interface ConvGeometry {
  kernel: [number, number];
  stride: [number, number];
  /** [top, left, bottom, right] (ONNX order). */
  pads: [number, number, number, number];
}

/**
 * x [N, C, H, W] -> sum of squares per unfolded column, [C * kh * kw] in
 * the order of a weight's [C, kh, kw] (dilation 1).
 */
export function convInputSquares(x: Tensor, g: ConvGeometry): Float64Array {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [top, left, bottom, right] = g.pads;
  return noGrad(() => tidy(() => {
    const squares = x.square(); // [N, C, H, W]
    const padded = top + left + bottom + right === 0 ? squares : F.pad(squares, [left, right, top, bottom]);
    const [, C, Hp, Wp] = padded.shape as [number, number, number, number];
    const outH = Math.floor((Hp - kh) / sh) + 1;
    const outW = Math.floor((Wp - kw) / sw) + 1;
    if (outH < 1 || outW < 1) throw new Error(`a ${kh}x${kw} kernel does not fit a ${Hp}x${Wp} padded input`);
    const perOffset: number[][] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const window = padded.slice(2, a, a + sh * (outH - 1) + 1, sh).slice(3, b, b + sw * (outW - 1) + 1, sw); // [N, C, outH, outW]
        perOffset.push(window.sum([0, 2, 3]).toArray()); // [C]
      }
    }
    const out = new Float64Array(C * kh * kw);
    for (let c = 0; c < C; c++) for (let k = 0; k < kh * kw; k++) out[c * kh * kw + k] = perOffset[k]![c]!;
    return out;
  }));
}
