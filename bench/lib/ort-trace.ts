// onnxruntime's profiler trace (Chrome trace JSON, one event per kernel call)
// summed into the layer kinds a MobileNet is made of, per timed run. Why a
// pruned classifier gains more at batch 1 than at batch 64 is a question of
// where the time goes: the kinds channel pruning shrinks (the widening and
// narrowing 1x1 convolutions, the depthwise ones on the pruned channels) or
// the kinds it leaves alone.
import { median } from '../../tools/stats.js';

export const LAYER_KINDS = ['stem conv', 'depthwise conv', 'pointwise conv, widening', 'pointwise conv, narrowing', 'matmul', 'other'] as const;
export type LayerKind = typeof LAYER_KINDS[number];

export interface KindCost { ms: number; macs: number; calls: number }
export interface TraceSummary {
  /** Timed runs the summary covers (after the warm-up ones). */
  runs: number;
  /** Median wall time of a whole run inside onnxruntime, ms. */
  runMs: number;
  /** Per layer kind: the median over runs of its summed kernel time, its multiply-adds and kernel calls per run. */
  kinds: Record<LayerKind, KindCost>;
}

interface TraceEvent { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] } }

const dims = (shapes: Record<string, number[]>[] | undefined, i: number): number[] | undefined => {
  const entry = shapes?.[i];
  return entry === undefined ? undefined : Object.values(entry)[0];
};
const product = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** The kind of one kernel call and its multiply-adds, from its op and tensor shapes. */
export function classifyKernel(event: TraceEvent): { kind: LayerKind; macs: number } {
  const op = event.args?.op_name ?? '';
  const input = event.args?.input_type_shape;
  const output = dims(event.args?.output_type_shape, 0) ?? [];
  if (op === 'Conv' || op === 'FusedConv') {
    const weight = dims(input, 1);
    const x = dims(input, 0);
    if (weight === undefined || weight.length !== 4 || x === undefined) throw new Error(`a ${op} kernel without an input and a 4-d weight shape in the trace (${event.name}): profile with onnxruntime >= 1.10`);
    const [outChannels, inPerGroup, kh, kw] = weight as [number, number, number, number];
    const macs = product(output) * inPerGroup * kh * kw;
    if (kh * kw === 1) return { kind: outChannels > x[1]! ? 'pointwise conv, widening' : 'pointwise conv, narrowing', macs };
    return { kind: inPerGroup === 1 ? 'depthwise conv' : 'stem conv', macs };
  }
  if (op === 'Gemm' || op === 'MatMul' || op === 'FusedMatMul') {
    const x = dims(input, 0) ?? [];
    return { kind: 'matmul', macs: product(output) * (x[x.length - 1] ?? 0) };
  }
  return { kind: 'other', macs: 0 };
}

/** Sums a trace's kernel calls by layer kind within each run, dropping the first `warmup` runs; medians over the rest. */
export function summarizeTrace(events: TraceEvent[], warmup: number): TraceSummary {
  const runs = events.filter((e) => e.name === 'model_run' && e.ts !== undefined && e.dur !== undefined).sort((a, b) => a.ts! - b.ts!);
  const timed = runs.slice(warmup);
  if (timed.length === 0) throw new Error(`the trace holds ${runs.length} runs, none after the ${warmup} warm-up runs`);
  const perRun = timed.map(() => Object.fromEntries(LAYER_KINDS.map((k) => [k, { ms: 0, macs: 0, calls: 0 }])) as Record<LayerKind, KindCost>);
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || e.ts === undefined || e.dur === undefined) continue;
    const run = timed.findIndex((r) => e.ts! >= r.ts! && e.ts! <= r.ts! + r.dur!);
    if (run < 0) continue;
    const { kind, macs } = classifyKernel(e);
    const cost = perRun[run]![kind];
    cost.ms += e.dur / 1000;
    cost.macs += macs;
    cost.calls++;
  }
  const kinds = Object.fromEntries(LAYER_KINDS.map((k) => [k, {
    ms: median(perRun.map((r) => r[k].ms)), macs: perRun[0]![k].macs, calls: perRun[0]![k].calls,
  }])) as Record<LayerKind, KindCost>;
  return { runs: timed.length, runMs: median(timed.map((r) => r.dur! / 1000)), kinds };
}
