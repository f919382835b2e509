// Pruning a generated classifier (an ONNX file) in place of its model
// folder: the specialised image encoder's Conv and Gemm weights, which are
// initializers, with calibration images of the user's own task. Activation
// norms come from onnxruntime: the layer's input is added as an extra graph
// output and the images run through the classifier with every layer before
// it already pruned (the sequential variant), one session per layer. The
// class-embedding head (the MatMul) and depthwise convolutions stay dense.
import { tensor, type Tensor } from '../engine/index.js';
import { openRunner } from '../deploy/runtime/node.js';
import { onnx, type ModelProto, type NodeProto, type TensorProto } from '../deploy/onnx/proto.js';
import { describeSparsity, type Sparsity } from './mask.js';
import { checkSparseInitializers, decodeModel, encodeModel, encodeSparseInitializers, initializerFloats, setInitializerFloats } from '../deploy/onnx/sparse-initializers.js';
import { countZeros, layerMask, type LayerResult } from './prune-layer.js';
import { checkMethod, type PruneMethod } from './prune-score.js';
import { convInputSquares, linearInputSquares, type ConvGeometry } from './wanda-norms.js';

export const PRUNING_METADATA_KEY = 'hyperclip.pruning';

interface OnnxLayer {
  node: NodeProto;
  init: TensorProto;
  rows: number;
  cols: number;
  spatial: number;
  groups: number;
  /** Gemm without transB stores [in, out]: scored transposed. */
  transposed: boolean;
  geometry: ConvGeometry | null;
  skipped?: string;
}

const attr = (node: NodeProto, name: string) => (node.attribute ?? []).find((a) => a.name === name);
const ints = (node: NodeProto, name: string, fallback: number[]): number[] => attr(node, name)?.ints?.map(Number) ?? fallback;

/** Conv and Gemm nodes whose weight is an initializer, in graph (forward) order. */
function findLayers(model: ModelProto, includeGrouped: boolean): OnnxLayer[] {
  const inits = new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const layers: OnnxLayer[] = [];
  for (const node of model.graph!.node ?? []) {
    const init = inits.get(node.input?.[1] ?? '');
    if (!init || init.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const dims = (init.dims ?? []).map(Number);
    if (node.opType === 'Conv' && dims.length === 4) {
      const groups = Number(attr(node, 'group')?.i ?? 1);
      if (groups !== 1 && !includeGrouped) continue;
      const k = ints(node, 'kernel_shape', [dims[2]!, dims[3]!]);
      const geometry: ConvGeometry = { kernel: [k[0]!, k[1]!], stride: ints(node, 'strides', [1, 1]) as [number, number], pads: ints(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number] };
      const layer: OnnxLayer = { node, init, rows: dims[0]!, cols: dims[1]! * dims[2]! * dims[3]!, spatial: dims[2]! * dims[3]!, groups, transposed: false, geometry };
      const autoPad = attr(node, 'auto_pad')?.s;
      if (ints(node, 'dilations', [1, 1]).some((d) => d !== 1)) layer.skipped = 'dilated convolution';
      else if (autoPad && autoPad.length > 0 && new TextDecoder().decode(autoPad) !== 'NOTSET') layer.skipped = 'auto_pad convolution';
      layers.push(layer);
    } else if (node.opType === 'Gemm' && dims.length === 2) {
      const transposed = Number(attr(node, 'transB')?.i ?? 0) !== 1;
      layers.push({ node, init, rows: transposed ? dims[1]! : dims[0]!, cols: transposed ? dims[0]! : dims[1]!, spatial: 1, groups: 1, transposed, geometry: null });
    }
  }
  return layers;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Sums of squares of a layer's input over the calibration images, read back through onnxruntime. */
async function inputSquares(model: ModelProto, layer: OnnxLayer, images: Float32Array, size: number, inputName: string): Promise<Float64Array> {
  const graph = model.graph!;
  const outputs = graph.output ?? [];
  const probe = layer.node.input![0]!;
  graph.output = [...outputs, { name: probe, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }];
  const runner = await openRunner(encodeModel(model));
  graph.output = outputs;
  const perImage = 3 * size * size;
  const count = images.length / perImage;
  let sums: Float64Array | null = null;
  try {
    for (let start = 0; start < count; start += 64) {
      const n = Math.min(64, count - start);
      const result = await runner.run({ [inputName]: { data: images.subarray(start * perImage, (start + n) * perImage), dims: [n, 3, size, size] } });
      const x: Tensor = tensor(result[probe]!.data as Float32Array, result[probe]!.dims);
      const squares = layer.geometry === null ? linearInputSquares(x) : convInputSquares(x, layer.geometry);
      x.dispose();
      if (sums === null) sums = squares;
      else for (let i = 0; i < sums.length; i++) sums[i]! += squares[i]!;
    }
  } finally {
    await runner.release();
  }
  return sums!;
}

export interface PruneClassifierOptions {
  method: PruneMethod;
  sparsity: Sparsity;
  /** Normalised NCHW images at the classifier's input size (wanda only). */
  images: Float32Array | null;
  calibration: string | null;
  includeGrouped?: boolean;
  onLayer?: (result: LayerResult, index: number, total: number) => void;
}

export interface ClassifierPruneRecord {
  method: PruneMethod;
  sparsity: string;
  calibration: string | null;
  overall: number;
  layers: { name: string; shape: number[]; sparsity: number; skipped?: string }[];
}

export async function pruneClassifier(bytes: Uint8Array, options: PruneClassifierOptions): Promise<{ bytes: Uint8Array; record: ClassifierPruneRecord }> {
  const method = checkMethod(options.method);
  const model = decodeModel(bytes);
  checkSparseInitializers(model, 'the classifier');
  if (model.graph?.node?.some((n) => (n.output ?? []).some((o) => o.endsWith('.sparse_flat')))) {
    throw new Error('this classifier is already pruned: prune the dense classifier (or its model folder) instead');
  }
  const inputName = (model.graph!.input ?? []).find((i) => !(model.graph!.initializer ?? []).some((t) => t.name === i.name))!.name!;
  const size = Number(model.graph!.input![0]!.type?.tensorType?.shape?.dim?.[2]?.dimValue ?? 0);
  if (method === 'wanda' && (options.images === null || size === 0)) throw new Error('wanda needs calibration images: give --calib SHARDS or a folder of images');
  const layers = findLayers(model, options.includeGrouped ?? false);
  const results: LayerResult[] = [];
  for (const layer of layers) {
    const shape = (layer.init.dims ?? []).map(Number);
    const base = { name: layer.init.name!, shape, total: layer.rows * layer.cols };
    let result: LayerResult;
    if (layer.skipped) result = { ...base, pruned: 0, skipped: layer.skipped };
    else {
      const squares = method === 'wanda' ? await inputSquares(model, layer, options.images!, size, inputName) : null;
      const stored = initializerFloats(layer.init);
      const data = layer.transposed ? transpose(stored, layer.cols, layer.rows) : stored;
      const mask = layerMask(method, options.sparsity, { data, rows: layer.rows, cols: layer.cols, spatial: layer.spatial, groups: layer.groups }, squares);
      if (typeof mask === 'string') result = { ...base, pruned: 0, skipped: mask };
      else {
        const keep = layer.transposed ? transpose(Float32Array.from(mask), layer.rows, layer.cols) : mask;
        setInitializerFloats(layer.init, stored.map((v, i) => (keep[i] ? v : 0)));
        result = { ...base, pruned: countZeros(mask) };
      }
    }
    results.push(result);
    options.onLayer?.(result, results.length - 1, layers.length);
  }
  const total = results.reduce((n, r) => n + r.total, 0);
  const record: ClassifierPruneRecord = {
    method, sparsity: describeSparsity(options.sparsity), calibration: method === 'wanda' ? options.calibration : null,
    overall: results.reduce((n, r) => n + r.pruned, 0) / Math.max(1, total),
    layers: results.map((r) => ({ name: r.name, shape: r.shape, sparsity: r.pruned / r.total, ...(r.skipped ? { skipped: r.skipped } : {}) })),
  };
  encodeSparseInitializers(model, results.filter((r) => r.pruned > 0).map((r) => r.name));
  model.metadataProps = [...(model.metadataProps ?? []).filter((p) => p.key !== PRUNING_METADATA_KEY), { key: PRUNING_METADATA_KEY, value: JSON.stringify(record) }];
  return { bytes: encodeModel(model), record };
}
