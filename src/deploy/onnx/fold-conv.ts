// A graph pass over the traced graph: per-channel affine ops that follow a
// convolution with constant weights - an eval batch norm, a generated scale
// and shift, layout transposes around them - are folded into the
// convolution's weight and bias. This is how a generated classifier carries
// its norm parameters inside its convolutions, whatever way the model code
// applied them.
import { type GraphBuilder, type Node, type Value } from './graph.js';

interface Affine {
  /** y = a * conv(x) + s per output channel. */
  a: Float64Array;
  s: Float64Array;
}

/** Folds every foldable chain in place; returns how many nodes were removed. */
export function foldConvAffine(g: GraphBuilder): number {
  const consumers = new Map<Value, Node[]>();
  for (const node of g.nodes) for (const v of node.inputs) if (v !== null) consumers.set(v, [...(consumers.get(v) ?? []), node]);
  const removed = new Set<Node>();
  for (const conv of g.nodes) {
    if (conv.opType !== 'Conv' || removed.has(conv)) continue;
    for (const node of foldChain(g, conv, consumers)) removed.add(node);
  }
  const kept = g.nodes.filter((n) => !removed.has(n));
  g.nodes.splice(0, g.nodes.length, ...kept);
  return removed.size;
}

/** Absorbs the affine chain after one Conv; returns the nodes it replaced. */
function foldChain(g: GraphBuilder, conv: Node, consumers: Map<Value, Node[]>): Node[] {
  const [weightValue, biasValue] = [conv.inputs[1]!, conv.inputs[2] ?? null];
  const weight = g.floatsOf(weightValue);
  const bias = biasValue === null ? null : g.floatsOf(biasValue);
  if (weight === null || (biasValue !== null && bias === null)) return [];
  const channels = weightValue.shape[0]!;
  const affine: Affine = { a: new Float64Array(channels).fill(1), s: bias === null ? new Float64Array(channels) : Float64Array.from(bias) };
  let current = conv.outputs[0]!;
  const rank = weightValue.rank; // a convolution's output has its weight's rank; transposes keep it
  let channelAxis = 1;
  const chain: Node[] = [];
  let committed: { length: number; affine: Affine; output: Value } | null = null;
  for (;;) {
    const users = consumers.get(current) ?? [];
    if (users.length !== 1 || g.outputs.includes(current)) break;
    const node = users[0]!;
    if (node.opType === 'Transpose') {
      const perm = (node.attrs.perm?.value as number[] | undefined) ?? [];
      channelAxis = perm.indexOf(channelAxis);
    } else if (!absorb(g, node, current, rank, channelAxis, affine)) {
      break;
    }
    chain.push(node);
    current = node.outputs[0]!;
    // Only a point where the layout is NCHW again can become the convolution's output.
    if (channelAxis === 1) committed = { length: chain.length, affine: { a: affine.a.slice(), s: affine.s.slice() }, output: current };
  }
  if (committed === null) return [];
  const perChannel = weight.length / channels;
  const folded = weight.map((w, i) => w * committed!.affine.a[Math.floor(i / perChannel)]!);
  conv.inputs[1] = g.addInitializer(`${weightValue.name}_folded`, 'float32', weightValue.shape, folded);
  conv.inputs[2] = g.addInitializer(`${weightValue.name}_folded_bias`, 'float32', [channels], Float32Array.from(committed.affine.s));
  conv.outputs[0] = committed.output;
  return chain.slice(0, committed.length);
}

/** The per-channel constant of a Mul/Add/Sub/Div operand: 1 on every axis but the channel axis. */
function perChannelConstant(g: GraphBuilder, operand: Value, rank: number, channelAxis: number, channels: number): Float32Array | null {
  const data = g.floatsOf(operand);
  if (data === null || operand.rank > rank) return null;
  const aligned = [...new Array<number>(rank - operand.rank).fill(1), ...operand.shape];
  const ok = aligned.every((d, i) => d === 1 || (i === channelAxis && d === channels));
  if (!ok) return null;
  return data.length === channels ? data : new Float32Array(channels).fill(data[0]!);
}

/** Applies one node to the running affine map when it is per-channel on constants; false when it is not. */
function absorb(g: GraphBuilder, node: Node, x: Value, rank: number, channelAxis: number, affine: Affine): boolean {
  const channels = affine.a.length;
  if (node.opType === 'BatchNormalization') {
    if (node.inputs[0] !== x || channelAxis !== 1) return false;
    const [scale, shift, mean, variance] = node.inputs.slice(1, 5).map((v) => (v === null ? null : g.floatsOf(v)));
    if (!scale || !shift || !mean || !variance || scale.length !== channels) return false;
    const eps = (node.attrs.epsilon?.value as number | undefined) ?? 1e-5;
    for (let c = 0; c < channels; c++) {
      const f = scale[c]! / Math.sqrt(variance[c]! + Math.fround(eps));
      affine.a[c]! *= f;
      affine.s[c] = (affine.s[c]! - mean[c]!) * f + shift[c]!;
    }
    return true;
  }
  if (!['Mul', 'Add', 'Sub', 'Div'].includes(node.opType) || node.inputs[0] !== x && node.opType !== 'Mul' && node.opType !== 'Add') return false;
  const other = node.inputs[0] === x ? node.inputs[1]! : node.inputs[0]!;
  // A constant of rank <= x's with 1 on every axis but the channel axis cannot broadcast x to a bigger shape.
  if (other === x) return false;
  const c = perChannelConstant(g, other, rank, channelAxis, channels);
  if (c === null) return false;
  for (let i = 0; i < channels; i++) {
    if (node.opType === 'Mul') { affine.a[i]! *= c[i]!; affine.s[i]! *= c[i]!; }
    if (node.opType === 'Div') { affine.a[i]! /= c[i]!; affine.s[i]! /= c[i]!; }
    if (node.opType === 'Add') affine.s[i]! += c[i]!;
    if (node.opType === 'Sub') affine.s[i]! -= c[i]!;
  }
  return true;
}
