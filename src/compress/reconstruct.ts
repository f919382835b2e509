// Least-squares reconstruction after channel surgery (in the manner of He et
// al. 2017, "Channel pruning for accelerating very deep neural networks", and
// ThiNet): the layer that reads a pruned group's channels gets new weights so
// that, on a few calibration images, the pruned model reproduces the dense
// model's output of that layer as well as a linear map of the surviving
// channels can.
//
// Why: removing channels from a pretrained MobileNet without it collapses the
// network (a measured probe: 37% zero-shot on Tiny ImageNet val fell to chance
// at 0.7 of the FLOPs, and 60 fine-tuning steps did not bring it back). The
// removed channels' contribution is partly predictable from the kept ones, and
// their mean is a constant: both go into the next layer at no cost.
//
// Blocks are handled in forward order, each on the pruned model's own inputs
// (so the errors of earlier blocks are corrected, not compounded): for the
// block's project conv, with h the pruned block's inputs to it (after the
// depthwise conv, its activation and any squeeze-excitation) and a constant
// 1, the new weights and bias solve
//   min || W_dense h_dense + r - [W' b'] [h; 1] ||^2
// over every pixel of every calibration image, where r is the gap between
// the dense and the pruned block inputs that a residual block adds back
// (divided by the project norm's scale, which the solution passes through).
// Every group gets it, kept whole or not, since its inputs moved. The image
// projection after the head reads the head's channels through the average
// pool, a linear map, so it is solved the same way per pixel (no bias: the
// projection has none). The norms run with their base scale and shift: the
// hypernetwork's generated deltas vary by task and are left out.
import { F, keep, noGrad, ones, tensor, tidy, zeros, type Tensor } from '../engine/index.js';
import type { HyperClip } from '../models/index.js';
import { MBConv } from '../models/image/blocks.js';
import type { CnnEncoder } from '../models/image/cnn-encoder.js';
import { solveSpd } from './spd-solve.js';

export interface ReconstructOptions {
  /** Images per forward pass (memory). */
  chunk?: number;
  /** Strength of the pull towards the layer's weights as pruned, as a fraction of the Gram matrix's mean diagonal. */
  ridge?: number;
}

export interface ReconstructReport {
  /** Per solved layer: relative squared error of its output before and after the solve, on the calibration images. */
  layers: { name: string; before: number; after: number }[];
}

/** The inputs to a block's project conv: [N, mid, h, w]. */
function projectInput(block: MBConv, x: Tensor): Tensor {
  let h = block.expandConv === null ? x : block.expandConv.forward(x);
  h = block.depthwise.forward(h);
  return block.se === null ? h : block.se.forward(h);
}

/** [N, C, h, w] -> [N*h*w, C]. */
const pixels = (x: Tensor): Tensor => x.permute([0, 2, 3, 1]).reshape([-1, x.size(1)]);

const withConstant = (h: Tensor): Tensor => F.cat([h, ones([h.size(0), 1], { device: h.device })], 1);

/** Sums over chunks of G = H^T H and C = T^T H, for the least-squares map H -> T. */
class NormalEquations {
  private gram: Tensor | null = null;
  private cross: Tensor | null = null;
  private targetSquares = 0;

  /** Call inside tidy(). h [P, in], target [P, out]; sums in double precision. */
  add(h: Tensor, target: Tensor): void {
    const h64 = h.to('float64'), t64 = target.to('float64');
    this.targetSquares += t64.square().sum().item();
    this.gram = this.accumulate(this.gram, h64.transpose(0, 1).matmul(h64));
    this.cross = this.accumulate(this.cross, t64.transpose(0, 1).matmul(h64));
  }

  private accumulate(sum: Tensor | null, value: Tensor): Tensor {
    if (sum === null) return keep(value);
    const next = keep(sum.add(value));
    sum.dispose();
    return next;
  }

  /**
   * The map A [out, in] minimising ||T - H A^T||^2 + lambda ||A - A0||^2, A0 the layer as pruned: A = (C + lambda A0)(G + lambda I)^-1.
   * The pull towards A0 (not towards zero) keeps the weights of inputs the calibration images leave (nearly) constant or
   * collinear as they were, and a layer pruned of nothing exactly as it was. Returns A and the error of A0 and of A, each
   * relative to ||T||^2.
   */
  solve(ridge: number, initial: Tensor): { map: Float32Array; out: number; inputs: number; before: number; after: number } {
    const gram = this.gram!, cross = this.cross!;
    const n = gram.size(0), m = cross.size(0);
    const g = Float64Array.from(gram.toArray() as number[]);
    const c = Float64Array.from(cross.toArray() as number[]); // [m, n]
    const a0 = initial.toArray() as number[]; // [m, n]
    let trace = 0;
    for (let i = 0; i < n; i++) trace += g[i * n + i]!;
    const lambda = ridge * (trace / n || 1);
    const b = new Float64Array(n * m); // (C + lambda A0)^T: [n, m]
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) b[j * m + i] = c[i * n + j]! + lambda * a0[i * n + j]!;
    const x = solveSpd(g, n, b, m, lambda); // A^T: [n, m]
    const map = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) map[i * n + j] = x[j * m + i]!;
    const error = (a: ArrayLike<number>): number => { // ||T||^2 - 2 tr(A C^T) + tr(A G A^T)
      let cross2 = 0, quad = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const aij = a[i * n + j]!;
          cross2 += aij * c[i * n + j]!;
          let ga = 0;
          for (let k = 0; k < n; k++) ga += g[j * n + k]! * a[i * n + k]!;
          quad += aij * ga;
        }
      }
      return Math.max(0, this.targetSquares - 2 * cross2 + quad) / (this.targetSquares || 1);
    };
    const before = error(a0);
    return { map, out: m, inputs: n, before, after: error(map) };
  }

  dispose(): void {
    this.gram?.dispose();
    this.cross?.dispose();
  }
}

/**
 * Rewrites, in `pruned`, every MBConv group's project conv (weights, and its
 * norm's shift for the bias) and the image projection, to reproduce `dense`
 * on `images` [N, 3, H, W]. `pruned` must be channel surgery of `dense`.
 */
export function reconstructPruned(dense: HyperClip, pruned: HyperClip, images: Tensor, options: ReconstructOptions = {}): ReconstructReport {
  const chunk = options.chunk ?? 32;
  const ridge = options.ridge ?? 1e-3;
  const denseEncoder = dense.imageEncoder as unknown as CnnEncoder, prunedEncoder = pruned.imageEncoder as unknown as CnnEncoder;
  if (denseEncoder.blocks.length !== prunedEncoder.blocks.length) throw new Error('reconstruct: the pruned model must be channel surgery of the dense one (block counts differ)');
  const modes = [dense.training, pruned.training];
  dense.eval();
  pruned.eval();
  const layers: ReconstructReport['layers'] = [];
  let xDense: Tensor[] = [], xPruned: Tensor[] = [];
  try {
    noGrad(() => {
      for (let start = 0; start < images.size(0); start += chunk) {
        const part = images.narrow(0, start, Math.min(chunk, images.size(0) - start));
        xDense.push(keep(tidy(() => denseEncoder.forwardPrefix(part, 0))));
        xPruned.push(keep(tidy(() => prunedEncoder.forwardPrefix(part, 0)))); // the stem is never pruned: the same values
        part.dispose();
      }
      denseEncoder.blocks.forEach((denseBlock, b) => {
        const prunedBlock = prunedEncoder.blocks[b]!;
        if (denseBlock instanceof MBConv && prunedBlock instanceof MBConv && denseBlock.expandConv !== null) {
          layers.push(solveProject(`blocks.${b}.project`, denseBlock, prunedBlock, xDense, xPruned, ridge));
        }
        const nextDense = xDense.map((x) => keep(tidy(() => denseBlock.forward(x))));
        const nextPruned = xPruned.map((x) => keep(tidy(() => prunedBlock.forward(x))));
        for (const t of [...xDense, ...xPruned]) t.dispose();
        xDense = nextDense;
        xPruned = nextPruned;
      });
      if (denseEncoder.head !== null && prunedEncoder.head !== null) layers.push(solveProjection(dense, pruned, denseEncoder, prunedEncoder, xDense, xPruned, ridge));
    });
  } finally {
    for (const t of [...xDense, ...xPruned]) if (!t.disposed) t.dispose();
    dense.train(modes[0]);
    pruned.train(modes[1]);
  }
  return { layers };
}

function solveProject(name: string, dense: MBConv, pruned: MBConv, xDense: Tensor[], xPruned: Tensor[], ridge: number): ReconstructReport['layers'][number] {
  const norm = pruned.project.norm;
  const scale = tidy(() => norm.weight.div(norm.runningVar.add(norm.eps).sqrt())); // [out]
  const denseWeight = dense.project.conv.weight, out = denseWeight.size(0);
  const equations = new NormalEquations();
  try {
    for (let i = 0; i < xDense.length; i++) {
      tidy(() => {
        const hDense = pixels(projectInput(dense, xDense[i]!)); // [P, midDense]
        const hPruned = withConstant(pixels(projectInput(pruned, xPruned[i]!))); // [P, mid + 1]
        let target = hDense.matmul(denseWeight.reshape([out, -1]).transpose(0, 1)); // [P, out]
        if (pruned.residual) {
          // What the pruned input lacks, in the units of the project conv's output; channels the norm scales to ~0 cannot carry it.
          const usable = scale.abs().ge(1e-3);
          const gap = pixels(xDense[i]!.sub(xPruned[i]!)).div(F.where(usable, scale, ones([out]))).mul(usable.to('float32'));
          target = target.add(gap);
        }
        equations.add(hPruned, target);
      });
    }
    const mid = pruned.project.conv.weight.size(1);
    const initial = tidy(() => F.cat([pruned.project.conv.weight.reshape([out, mid]), zeros([out, 1])], 1)); // the weights as pruned, no bias
    const { map, before, after } = equations.solve(ridge, initial);
    initial.dispose();
    tidy(() => {
      const solved = tensor(map, [out, mid + 1]);
      pruned.project.conv.weight.copy_(solved.narrow(1, 0, mid).reshape([out, mid, 1, 1]));
      norm.bias.add_(solved.narrow(1, mid, 1).reshape([out]).mul(scale));
    });
    return { name, before, after };
  } finally {
    equations.dispose();
    scale.dispose();
  }
}

function solveProjection(dense: HyperClip, pruned: HyperClip, denseEncoder: CnnEncoder, prunedEncoder: CnnEncoder, xDense: Tensor[], xPruned: Tensor[], ridge: number): ReconstructReport['layers'][number] {
  const denseWeight = dense.imageProjection.weight, out = denseWeight.size(0);
  const equations = new NormalEquations();
  try {
    for (let i = 0; i < xDense.length; i++) {
      tidy(() => {
        const hDense = pixels(denseEncoder.head!.forward(xDense[i]!));
        const hPruned = pixels(prunedEncoder.head!.forward(xPruned[i]!));
        equations.add(hPruned, hDense.matmul(denseWeight.transpose(0, 1)));
      });
    }
    const { map, before, after } = equations.solve(ridge, pruned.imageProjection.weight);
    tidy(() => pruned.imageProjection.weight.copy_(tensor(map, [out, map.length / out])));
    return { name: 'imageProjection', before, after };
  } finally {
    equations.dispose();
  }
}
