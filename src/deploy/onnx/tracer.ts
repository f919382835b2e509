// A Tracer that turns the engine ops a model runs into an ONNX graph. The
// model runs for real on example inputs (so every shape is known); tensors
// that no recorded op produced - parameters, buffers, constants made before
// tracing - become initializers holding their current values.
import type { Tensor } from '../../engine/tensor.js';
import type { Tracer, TraceInput } from '../../engine/trace.js';
import { GraphBuilder, type Value } from './graph.js';
import { converterFor } from './ops/index.js';
import type { OpCall } from './ops/context.js';

export interface GraphInput {
  name: string;
  tensor: Tensor;
  /** Axis 0 is the batch and may have any size in the exported graph. */
  dynamicBatch?: boolean;
}

export class OnnxTracer implements Tracer {
  readonly graph: GraphBuilder;
  private readonly values = new Map<Tensor, Value>();
  private readonly initializerNames: Map<Tensor, string>;

  /**
   * names: readable names for parameters and buffers (for example model.stateDict()).
   * foldConstants: an op whose inputs are all constants becomes a constant
   * holding the value the engine computed (no node), unless that would store
   * much more data than its inputs.
   */
  constructor(inputs: GraphInput[], names: Iterable<[string, Tensor]> = [], private readonly foldConstants = true) {
    if (inputs.length === 0) throw new Error('ONNX export: give at least one example input');
    this.graph = new GraphBuilder(batchSizeOf(inputs));
    this.initializerNames = new Map([...names].map(([name, t]) => [t, name]));
    for (const input of inputs) {
      if (this.values.has(input.tensor)) throw new Error(`ONNX export: input "${input.name}" is the same tensor as another input`);
      const value = this.graph.addInput(input.name, input.tensor.dtype, input.tensor.shape, input.dynamicBatch ? 0 : null);
      this.values.set(input.tensor, value);
    }
  }

  record(op: string, inputs: TraceInput[], attrs: Record<string, unknown>, outputs: Tensor[]): void {
    if (op === 'constant') {
      this.values.set(outputs[0]!, this.initializerOf(outputs[0]!, 'const'));
      return;
    }
    if (this.foldConstants && this.isFoldable(inputs, outputs)) {
      for (const t of outputs) this.initializerOf(t, op);
      return;
    }
    const call: OpCall = {
      op,
      inputs: inputs.map((x) => (x === null || typeof x === 'number' ? x : this.valueOf(x))),
      attrs,
      outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })),
    };
    const results = converterFor(op)(call, this.graph);
    results.forEach((value, i) => {
      const traced = call.outputs[i]!;
      if (value.dtype !== traced.dtype || value.shape.join() !== traced.shape.join()) {
        throw new Error(`ONNX export: internal error converting ${op}: made ${value.dtype} [${value.shape}], the engine made ${traced.dtype} [${traced.shape}]`);
      }
      this.values.set(outputs[i]!, value);
    });
  }

  /** The graph value of a tensor; one never seen becomes an initializer (once per tensor object). */
  valueOf(t: Tensor): Value {
    return this.values.get(t) ?? this.initializerOf(t, t.name ?? 'const');
  }

  /** Every tensor input is already a constant, and the outputs are not much bigger than the inputs. */
  private isFoldable(inputs: TraceInput[], outputs: Tensor[]): boolean {
    let inputSize = 0;
    for (const x of inputs) {
      if (x === null || typeof x === 'number') continue;
      const known = this.values.get(x);
      if (known !== undefined && !this.graph.isInitializer(known)) return false;
      inputSize += x.numel;
    }
    const outputSize = outputs.reduce((n, t) => n + t.numel, 0);
    return outputSize <= Math.max(2 * inputSize, 4096);
  }

  private initializerOf(t: Tensor, hint: string): Value {
    const value = this.graph.addInitializer(this.initializerNames.get(t) ?? hint, t.dtype, t.shape, t.data());
    this.values.set(t, value);
    return value;
  }
}

function batchSizeOf(inputs: GraphInput[]): number | null {
  const sizes = new Set(inputs.filter((i) => i.dynamicBatch).map((i) => i.tensor.shape[0]));
  if (sizes.size === 0) return null;
  if (sizes.size > 1) throw new Error(`ONNX export: dynamic-batch inputs disagree on the batch size (${[...sizes].join(', ')}); give them one batch size`);
  const size = [...sizes][0];
  if (size === undefined || size < 2) {
    throw new Error(`ONNX export: trace a dynamic batch with an example batch of at least 2 (got ${size ?? 'a scalar input'}) so the batch axis can be told from size-1 axes`);
  }
  return size;
}
