// The engine-level pruner: Linear layers and convolutions of any Module,
// magnitude or Wanda, a ratio per output row or N:M, no weight update. For
// Wanda the layers are pruned one at a time in forward order, each
// calibrated on real batches flowing through the layers already pruned
// before it (the paper's sequential variant): a forward hook on the layer
// sums its inputs' squares, then stops the forward, since nothing after the
// layer matters for its statistics.
import { Conv2d, Linear, Module, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import { checkSparsity, type Sparsity } from './mask.js';
import { countZeros, layerMask, type LayerResult } from './prune-layer.js';
import { checkMethod, type PruneMethod } from './prune-score.js';
import { convInputSquares, linearInputSquares } from './wanda-norms.js';

export interface PrunableLayer {
  name: string;
  layer: Linear | Conv2d;
}

export interface FindOptions {
  /** Also grouped and depthwise convolutions (default: they stay dense). */
  includeGrouped?: boolean;
  /** Prefix for the layer names (the module's path in a larger model). */
  prefix?: string;
}

/** The Linear and dense Conv2d layers of a module, in declaration order. */
export function findPrunableLayers(root: Module, options: FindOptions = {}): PrunableLayer[] {
  const prefix = options.prefix ?? '';
  const out: PrunableLayer[] = [];
  for (const [name, m] of root.namedModules()) {
    const full = prefix && name ? `${prefix}.${name}` : prefix || name;
    if (m instanceof Linear) out.push({ name: full, layer: m });
    else if (m instanceof Conv2d && (m.groups === 1 || options.includeGrouped === true)) out.push({ name: full, layer: m });
  }
  return out;
}

/** Runs the model on one calibration batch (the pruner adds noGrad and tidy). */
export type CalibrationBatch = () => void;

export interface PruneModuleOptions {
  method: PruneMethod;
  sparsity: Sparsity;
  /** Wanda's calibration batches; magnitude needs none. */
  calibration?: CalibrationBatch[];
  /** Wanda with one batch: prune during a single forward (default) or re-run the forward per layer (false; same masks, slower). */
  onePass?: boolean;
  onLayer?: (result: LayerResult, index: number, total: number) => void;
}

class StopForward extends Error {}

export function pruneLayers(layers: PrunableLayer[], options: PruneModuleOptions): LayerResult[] {
  const method = checkMethod(options.method);
  const sparsity = checkSparsity(options.sparsity);
  if (method === 'magnitude') return layers.map((l, i) => report(options, pruneOne(l, method, sparsity, null), i, layers.length));
  const batches = options.calibration ?? [];
  if (batches.length === 0) throw new Error('wanda needs calibration batches: give real inputs to measure activation norms on');
  const { ordered, unreached, calledOnce } = forwardOrder(layers, batches[0]!);
  const results: LayerResult[] = [];
  if (batches.length === 1 && calledOnce && options.onePass !== false) {
    for (const r of pruneInOneForward(ordered, batches[0]!, method, sparsity)) results.push(report(options, r, results.length, layers.length));
  } else {
    for (const l of ordered) {
      const squares = collectInputSquares(l, batches);
      results.push(report(options, pruneOne(l, method, sparsity, squares), results.length, layers.length));
    }
  }
  for (const l of unreached) {
    results.push(report(options, { ...shapeOf(l), pruned: 0, skipped: 'not reached by the calibration forward' }, results.length, layers.length));
  }
  return results;
}

function report(options: PruneModuleOptions, r: LayerResult, index: number, total: number): LayerResult {
  options.onLayer?.(r, index, total);
  return r;
}

function runBatch(batch: CalibrationBatch): void {
  try {
    noGrad(() => tidy(() => { batch(); }));
  } catch (err) {
    if (!(err instanceof StopForward)) throw err;
  }
}

/** The layers in the order the first batch's forward reaches them, and whether each reached one ran exactly once. */
function forwardOrder(layers: PrunableLayer[], batch: CalibrationBatch): { ordered: PrunableLayer[]; unreached: PrunableLayer[]; calledOnce: boolean } {
  const calls = new Map<PrunableLayer, number>();
  const removers = layers.map((l) => l.layer.registerForwardHook(() => { calls.set(l, (calls.get(l) ?? 0) + 1); }));
  try {
    runBatch(batch);
  } finally {
    for (const remove of removers) remove();
  }
  const ordered = [...calls.keys()];
  return { ordered, unreached: layers.filter((l) => !calls.has(l)), calledOnce: [...calls.values()].every((n) => n === 1) };
}

/** The sequential variant in one forward: before each layer runs, its input is measured and the layer pruned. */
function pruneInOneForward(ordered: PrunableLayer[], batch: CalibrationBatch, method: PruneMethod, sparsity: Sparsity): LayerResult[] {
  const results = new Map<PrunableLayer, LayerResult>();
  const removers = ordered.map((l) => l.layer.registerForwardPreHook((_m, inputs) => {
    const x = inputs[0] as Tensor;
    const squares = inputSquares(l, x);
    results.set(l, pruneOne(l, method, sparsity, squares));
  }));
  try {
    runBatch(batch);
  } finally {
    for (const remove of removers) remove();
  }
  return ordered.map((l) => {
    const r = results.get(l);
    if (r === undefined) throw new Error(`${l.name} was not reached by the calibration forward`);
    return r;
  });
}

function collectInputSquares(l: PrunableLayer, batches: CalibrationBatch[]): Float64Array {
  let sums: Float64Array | null = null;
  const remove = l.layer.registerForwardHook((_m, inputs) => {
    const x = inputs[0] as Tensor;
    const squares = inputSquares(l, x);
    if (sums === null) sums = squares;
    else for (let i = 0; i < sums.length; i++) sums[i]! += squares[i]!;
    throw new StopForward();
  });
  try {
    for (const batch of batches) runBatch(batch);
  } finally {
    remove();
  }
  if (sums === null) throw new Error(`${l.name} was not reached by the calibration forward`);
  return sums;
}

/** Wanda's statistic of a layer's input: the sum of squares of every column of its (unfolded) input. */
const inputSquares = (l: PrunableLayer, x: Tensor): Float64Array =>
  l.layer instanceof Linear ? linearInputSquares(x) : convInputSquares(x, convGeometry(l.layer));

const convGeometry = (c: Conv2d) => ({
  kernel: [c.kernel, c.kernel] as [number, number],
  stride: [c.stride, c.stride] as [number, number],
  pads: [c.padding, c.padding, c.padding, c.padding] as [number, number, number, number],
});

function shapeOf(l: PrunableLayer): { name: string; shape: number[]; total: number } {
  return { name: l.name, shape: l.layer.weight.shape, total: l.layer.weight.numel };
}

function pruneOne(l: PrunableLayer, method: PruneMethod, sparsity: Sparsity, squares: Float64Array | null): LayerResult {
  const weight = l.layer.weight;
  const shape = weight.shape;
  const rows = shape[0]!;
  const spatial = shape.length === 4 ? shape[2]! * shape[3]! : 1;
  const groups = l.layer instanceof Conv2d ? l.layer.groups : 1;
  const data = weight.data() as Float32Array;
  const mask = layerMask(method, sparsity, { data, rows, cols: data.length / rows, spatial, groups }, squares);
  if (typeof mask === 'string') return { ...shapeOf(l), pruned: 0, skipped: mask };
  applyMask(weight, mask);
  return { ...shapeOf(l), pruned: countZeros(mask) };
}

/** weight *= mask in place, keeping its memory layout (channels-last stays channels-last). */
export function applyMask(weight: Tensor, mask: Uint8Array): void {
  noGrad(() => tidy(() => {
    const keep = tensor(Float32Array.from(mask), weight.shape);
    weight.copy_(weight.mul(keep));
  }));
}
