// Explicit zero padding in front of convolutions (how a TFLite "SAME"
// stride-2 convolution arrives: Pad, then Conv without pads) folded into the
// convolutions' own pads. The float result is the same; for quantization it
// removes a tensor that would otherwise need its own QuantizeLinear /
// DequantizeLinear pair, which onnxruntime cannot fuse through a Pad, so the
// convolution becomes a single QLinearConv.
import { onnx, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { int64Values, intsAttr, ModelGraph, stringAttr } from './model-graph.js';

/** Folds every foldable Pad in place; returns how many it removed. */
export function foldPadsIntoConvs(model: ModelProto): number {
  const g = new ModelGraph(model);
  const removed = new Set<NodeProto>();
  for (const pad of g.nodes) {
    if (pad.opType !== 'Pad') continue;
    const spatial = zeroSpatialPads(g, pad);
    const output = pad.output![0]!;
    const convs = g.consumersOf(output);
    if (spatial === null || g.outputs.has(output) || convs.length === 0 || !convs.every((c) => foldableConv(c, output, spatial.length / 2))) continue;
    for (const conv of convs) {
      const own = intsAttr(conv, 'pads') ?? new Array<number>(spatial.length).fill(0);
      setPads(conv, own.map((p, i) => p + spatial[i]!));
      conv.input![0] = pad.input![0]!;
    }
    removed.add(pad);
  }
  if (removed.size === 0) return 0;
  model.graph!.node = g.nodes.filter((n) => !removed.has(n));
  dropUnusedInitializers(model);
  return removed.size;
}

/**
 * The pads of a constant-zero Pad that pads only spatial axes of an NCHW
 * tensor, in Conv's order [x1_begin, x2_begin, ..., x1_end, x2_end]; null
 * when the Pad is anything else.
 */
function zeroSpatialPads(g: ModelGraph, pad: NodeProto): number[] | null {
  const mode = stringAttr(pad, 'mode') ?? 'constant';
  const [, padsName, valueName, axesName] = pad.input ?? [];
  if (mode !== 'constant' || (axesName !== undefined && axesName !== '')) return null;
  if (valueName !== undefined && valueName !== '') {
    const value = g.floats(valueName);
    if (value === null || value.some((v) => v !== 0)) return null;
  }
  const pads = int64Values(g.initializers.get(padsName ?? ''));
  if (pads === null || pads.length < 6 || pads.some((p) => p < 0)) return null;
  const rank = pads.length / 2;
  // Batch and channel axes unpadded: only then is it the convolution's own zero padding.
  if (pads[0] !== 0 || pads[1] !== 0 || pads[rank] !== 0 || pads[rank + 1] !== 0) return null;
  return [...pads.slice(2, rank), ...pads.slice(rank + 2)];
}

function foldableConv(node: NodeProto, input: string, spatialRank: number): boolean {
  if (node.opType !== 'Conv' || node.input![0] !== input || node.input!.slice(1).includes(input)) return false;
  const autoPad = stringAttr(node, 'auto_pad');
  const pads = intsAttr(node, 'pads');
  return (autoPad === null || autoPad === 'NOTSET') && (pads === null || pads.length === 2 * spatialRank);
}

function setPads(node: NodeProto, pads: number[]): void {
  const others = (node.attribute ?? []).filter((a) => a.name !== 'pads');
  node.attribute = [...others, { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: pads }];
}

/** Removes initializers no node reads and no graph output names (and their graph input entries, which older IRs keep). */
export function dropUnusedInitializers(model: ModelProto): void {
  const graph = model.graph!;
  const used = new Set<string>((graph.output ?? []).map((v) => v.name!));
  for (const node of graph.node ?? []) for (const name of node.input ?? []) used.add(name);
  const dropped = new Set((graph.initializer ?? []).map((t) => t.name!).filter((name) => !used.has(name)));
  graph.initializer = (graph.initializer ?? []).filter((t) => !dropped.has(t.name!));
  graph.input = (graph.input ?? []).filter((v) => !dropped.has(v.name!));
}
