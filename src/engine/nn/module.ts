// Module: a tree of named parameters, buffers and child modules, found by
// walking the module's own fields in declaration order (as PyTorch does).
import { keep } from '../scope.js';
import { native } from '../native.js';
import type { Tensor, Device, MemoryFormat } from '../tensor.js';
import { noGrad } from '../runtime.js';
import { dtypeCode, type DType } from '../dtype.js';

export type StateDict = Map<string, Tensor>;

/** Called after a module's forward with its arguments and result. */
export type ForwardHook = (module: Module, inputs: unknown[], output: unknown) => void;
/** Called before a module's forward with its arguments. */
export type ForwardPreHook = (module: Module, inputs: unknown[]) => void;

export class Module {
  training = true;
  private forwardHooks?: Set<ForwardHook>;
  private forwardPreHooks?: Set<ForwardPreHook>;

  /** Marks a tensor as a trainable parameter of this module and keeps it alive outside tidy(). */
  protected parameter(t: Tensor): Tensor {
    keep(t);
    t.role = 'parameter';
    t.requiresGrad = true;
    return t;
  }

  /** Marks a tensor as state that is saved but not trained (running statistics). */
  protected buffer(t: Tensor): Tensor {
    keep(t);
    t.role = 'buffer';
    return t;
  }

  /** Child modules by field name (arrays of modules are named field.0, field.1, ...). */
  *namedChildren(): Generator<[string, Module]> {
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) yield [key, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (value[i] instanceof Module) yield [`${key}.${i}`, value[i] as Module];
      }
    }
  }

  private *ownTensors(role: 'parameter' | 'buffer'): Generator<[string, Tensor]> {
    for (const [key, value] of Object.entries(this)) {
      if (value !== null && typeof value === 'object' && 'role' in value && (value as Tensor).role === role) yield [key, value as Tensor];
    }
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, t] of this.ownTensors('parameter')) yield [prefix + name, t];
    for (const [name, child] of this.namedChildren()) yield* child.namedParameters(`${prefix}${name}.`);
  }

  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, t] of this.ownTensors('buffer')) yield [prefix + name, t];
    for (const [name, child] of this.namedChildren()) yield* child.namedBuffers(`${prefix}${name}.`);
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix.replace(/\.$/, ''), this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(`${prefix}${name}.`);
  }

  /**
   * Calls hook(module, inputs, output) after every forward() of this module
   * until the returned function removes it. It wraps this instance's forward
   * (layers are called as child.forward(...), not through a dispatcher), so
   * it costs nothing when no hook is set.
   */
  registerForwardHook(hook: ForwardHook): () => void {
    return this.addHook(this.forwardHooks ??= new Set(), hook);
  }

  /** Calls hook(module, inputs) before every forward() of this module, as registerForwardHook does after it. */
  registerForwardPreHook(hook: ForwardPreHook): () => void {
    return this.addHook(this.forwardPreHooks ??= new Set(), hook);
  }

  private addHook<H>(hooks: Set<H>, hook: H): () => void {
    const self = this as unknown as { forward?: (...args: unknown[]) => unknown };
    if (typeof self.forward !== 'function') throw new Error(`${this.constructor.name} has no forward() to hook`);
    const hookCount = () => (this.forwardHooks?.size ?? 0) + (this.forwardPreHooks?.size ?? 0);
    if (hookCount() === 0) {
      const original = self.forward;
      // An own property shadows the class method; deleting it restores the method.
      Object.defineProperty(this, 'forward', {
        configurable: true, enumerable: false, writable: true,
        value: (...args: unknown[]) => {
          if (this.forwardPreHooks) for (const h of [...this.forwardPreHooks]) h(this, args);
          const output = original.apply(this, args);
          if (this.forwardHooks) for (const h of [...this.forwardHooks]) h(this, args, output);
          return output;
        },
      });
    }
    hooks.add(hook);
    return () => {
      if (!hooks.delete(hook)) return;
      if (hookCount() === 0) delete (this as { forward?: unknown }).forward;
    };
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.numel, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by dotted name. The tensors are the module's own, not copies. */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [name, t] of this.namedParameters()) out.set(name, t);
    for (const [name, t] of this.namedBuffers()) out.set(name, t);
    return out;
  }

  /** Copies values into the module's tensors; strict mode reports every missing, unexpected or mis-shaped entry. */
  loadStateDict(state: Map<string, Tensor>, strict = true): void {
    const own = this.stateDict();
    const problems: string[] = [];
    for (const [name, t] of own) {
      const source = state.get(name);
      if (source === undefined) {
        if (strict) problems.push(`missing ${name}`);
        continue;
      }
      if (source.shape.join() !== t.shape.join()) {
        problems.push(`${name} has shape [${source.shape}] in the file but [${t.shape}] in the model`);
      }
    }
    if (strict) for (const name of state.keys()) if (!own.has(name)) problems.push(`unexpected ${name}`);
    if (problems.length > 0) {
      const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
      throw new Error(`state dict does not match the model: ${shown}`);
    }
    noGrad(() => {
      for (const [name, t] of own) {
        const source = state.get(name);
        if (source === undefined) continue;
        if (source.dtype === t.dtype) t.copy_(source);
        else {
          const converted = source.to(t.dtype);
          t.copy_(converted);
          converted.dispose();
        }
      }
    });
  }

  /**
   * Moves every parameter and buffer to a device, or converts it to a dtype,
   * in place. Without noGrad the copies would be non-leaf tensors whose .grad
   * stays empty after backward.
   */
  to(target: Device | DType): this {
    const isDevice = target === 'cpu' || target.startsWith('cuda');
    const arg = isDevice ? target : dtypeCode(target as DType);
    noGrad(() => {
      for (const t of this.stateDict().values()) {
        const grad = t.requiresGrad;
        t.replaceHandle(native().to(t.handle, arg));
        if (grad) t.requiresGrad = true;
      }
    });
    return this;
  }

  /**
   * Re-lays out every 4-D parameter and buffer in a memory format, in place
   * (as PyTorch's module.to(memory_format=...)); parameters stay leaves.
   * Create optimisers after this call so that their state matches the layout.
   */
  toMemoryFormat(format: MemoryFormat): this {
    const code = format === 'channels-last' ? 1 : 0;
    noGrad(() => {
      for (const t of this.stateDict().values()) {
        if (t.ndim !== 4) continue;
        const grad = t.requiresGrad;
        t.replaceHandle(native().contiguous(t.handle, code));
        if (grad) t.requiresGrad = true;
      }
    });
    return this;
  }

  /** Releases the native memory of every parameter and buffer. */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }
}
