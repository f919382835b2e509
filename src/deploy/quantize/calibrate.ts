// Calibration: the float classifier runs over the user's images with the
// tensors to quantize added as extra graph outputs (a copy of the model, so
// the runtime computes them exactly as it would inside the graph), and each
// tensor's minimum and maximum over all images are kept. Min/max is the
// plain choice: nothing the calibration images produced is clipped. The same
// pass can average tensors per channel (axis 1, over images and positions),
// the input means that bias correction needs (bias-correction.ts).
import { onnx, type ModelProto } from '../onnx/proto.js';
import type { OpenRunner } from '../runtime/session.js';
import { ModelGraph } from './model-graph.js';

export interface TensorRange {
  min: number;
  max: number;
}

/** Images per runtime call: the runtime holds every requested tensor of the whole batch at once. */
const CALIBRATION_BATCH = 16;

export interface CalibrationRun {
  /** Normalised NCHW pixels at the classifier's input size, [n, 3, H, W] row-major. */
  images: Float32Array;
  open: OpenRunner;
  /** Tensors (of rank 2 or more) whose per-channel means are wanted too. */
  means?: string[];
  onProgress?: (done: number, total: number) => void;
}

export interface Calibration {
  ranges: Map<string, TensorRange>;
  /** Per channel (axis 1) of each tensor of CalibrationRun.means, the mean over all images and positions. */
  means: Map<string, Float64Array>;
  images: number;
}

/** Each tensor's range over the images, the requested channel means, and how many images there were. */
export async function calibrateRanges(model: ModelProto, tensors: string[], run: CalibrationRun): Promise<Calibration> {
  const g = new ModelGraph(model);
  const input = [...g.inputs][0];
  if (g.inputs.size !== 1 || input === undefined) throw new Error(`a classifier takes one image input, this model takes ${g.inputs.size}`);
  const dims = (model.graph!.input!.find((v) => v.name === input)!.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0));
  const perImage = dims.slice(1).reduce((a, b) => a * b, 1);
  if (dims.length !== 4 || perImage === 0) throw new Error(`the classifier's input ${input} has no fixed [batch, 3, H, W] shape`);
  const count = run.images.length / perImage;
  if (!Number.isInteger(count) || count < 1) throw new Error(`calibration needs whole ${dims.slice(1).join('x')} images, got ${run.images.length} values`);
  const ranges = new Map(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  const sums = new Map((run.means ?? []).map((t) => [t, { sums: new Float64Array(0), values: 0 }]));
  // The image input is measured from the feed itself; a runtime need not echo an input as an output.
  const probed = [...new Set([...tensors, ...sums.keys()])].filter((t) => t !== input && !g.outputs.has(t));
  const runner = await run.open(withOutputs(model, probed));
  try {
    for (let start = 0; start < count; start += CALIBRATION_BATCH) {
      const n = Math.min(CALIBRATION_BATCH, count - start);
      const pixels = run.images.subarray(start * perImage, (start + n) * perImage);
      const results = await runner.run({ [input]: { data: pixels, dims: [n, ...dims.slice(1)] } });
      const valueOf = (name: string) => (name === input ? { data: pixels, dims: [n, ...dims.slice(1)] } : { data: results[name]!.data as Float32Array, dims: results[name]!.dims });
      for (const [name, range] of ranges) widen(range, valueOf(name).data);
      for (const [name, sum] of sums) addPerChannel(sum, name, valueOf(name));
      run.onProgress?.(start + n, count);
    }
  } finally {
    await runner.release();
  }
  const means = new Map([...sums].map(([name, { sums: s, values }]) => [name, s.map((v) => v / values)]));
  return { ranges, means, images: count };
}

/** Adds a [N, C, ...] tensor's values to its per-channel sums; `values` counts the values each channel has summed. */
function addPerChannel(sum: { sums: Float64Array; values: number }, name: string, value: { data: Float32Array; dims: readonly number[] }): void {
  const channels = value.dims[1];
  if (value.dims.length < 2 || channels === undefined || channels < 1) throw new Error(`${name} has shape [${value.dims}]: channel means need [batch, channels, ...]`);
  if (sum.sums.length === 0) sum.sums = new Float64Array(channels);
  const inner = value.dims.slice(2).reduce((a, b) => a * b, 1);
  for (let start = 0; start < value.data.length; start += inner) {
    let total = 0;
    for (let i = start; i < start + inner; i++) total += value.data[i]!;
    sum.sums[(start / inner) % channels]! += total;
  }
  sum.values += value.data.length / channels;
}

/** The model's bytes with extra float graph outputs; the model itself is left as it is. */
function withOutputs(model: ModelProto, names: string[]): Uint8Array {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const floatType = { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } };
  copy.graph!.output = [...(copy.graph!.output ?? []), ...names.map((name) => ({ name, type: floatType }))];
  return onnx.ModelProto.encode(copy).finish();
}

function widen(range: TensorRange, data: Float32Array): void {
  let { min, max } = range;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    // NaN compares false both ways and would leave the range silently wrong: it poisons the range instead.
    if (v !== v) min = NaN;
  }
  range.min = min;
  range.max = max;
}
