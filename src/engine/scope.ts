// Deterministic release of native memory: tensors created inside tidy() are
// disposed when it returns, except those it returns or that were kept.
// Garbage-collector finalizers in the addon are only the backstop.

export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
  /** Called when the object leaves every scope: from then on only dispose() or the GC frees it. */
  escape?(): void;
}

const stack: Set<Disposable>[] = [];

// The engine learns the scope depth so that it can skip reporting the memory
// of scoped tensors to V8 (see native/src/addon.cc, wrap()).
let depthListener: ((depth: number) => void) | null = null;
export function onScopeDepth(listener: (depth: number) => void): void {
  depthListener = listener;
}

export function track(t: Disposable): void {
  if (stack.length > 0) stack[stack.length - 1]!.add(t);
}

/** Removes a tensor from every open scope so that tidy() will not dispose it. */
export function keep<T extends Disposable>(t: T): T {
  for (const scope of stack) scope.delete(t);
  t.escape?.();
  return t;
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('dispose' in value && 'disposed' in value) {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, depth + 1);
}

/**
 * Runs fn and disposes every tensor it created, except those in its result
 * (tensors, or arrays, maps and plain objects of them), which move to the
 * enclosing scope. fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  depthListener?.(stack.length);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy() takes a synchronous function; dispose tensors by hand across awaits');
  } finally {
    stack.pop();
    depthListener?.(stack.length);
    const survivors = new Set<Disposable>();
    // On error `result` is unassigned and everything is released.
    try { collect(result!, survivors); } catch { /* nothing survives */ }
    for (const t of scope) {
      if (survivors.has(t)) {
        if (stack.length > 0) track(t);
        else t.escape?.();
      } else if (!t.disposed) t.dispose();
    }
  }
  return result;
}

/** The number of open tidy scopes (for tests). */
export const scopeDepth = (): number => stack.length;
