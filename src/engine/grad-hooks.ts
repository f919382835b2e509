// Gradient-ready hooks: a function called during backward right after
// autograd has accumulated a leaf's gradient into `.grad` (a post hook on the
// leaf's gradient accumulator, native/src/grad_hooks.cc). What PyTorch's DDP
// uses to launch gradient all-reduces while backward still runs.
//
// The hook runs synchronously inside backward(), on this thread: libtorch
// runs a CPU backward on the thread that called it. A CUDA backward runs
// accumulators on device threads, where the hook fails backward with an
// error instead. A hook that throws ends backward with an Error whose
// message carries the hook's; the gradients are then only partly accumulated.
import { native, type GradHookHandle } from './native.js';
import type { Tensor } from './tensor.js';

export interface GradReadyHook {
  /** Stops the hook and releases the accumulator it held; a second call does nothing. */
  remove(): void;
  readonly removed: boolean;
}

// Hooks live until remove(), as torch's register_hook handles do: dropping
// the object does not stop the hook (nor would the collector find it, since
// the addon holds the function).
const live = new Set<GradReadyHook>();

/** Calls fn() once per backward that accumulates `leaf`'s gradient; leaf: a tensor that requires grad and was made by no op (a parameter). */
export function onGradReady(leaf: Tensor, fn: () => void): GradReadyHook {
  if (!leaf.requiresGrad) throw new Error(`a gradient-ready hook needs a tensor that requires grad; this one (${leaf.name ?? 'shape ' + JSON.stringify(leaf.shape)}) does not`);
  let handle: GradHookHandle | null = native().addGradReadyHook(leaf.handle, () => { fn(); });
  const hook: GradReadyHook = {
    remove() {
      if (handle === null) return;
      native().removeGradReadyHook(handle);
      handle = null;
      live.delete(hook);
    },
    get removed() { return handle === null; },
  };
  live.add(hook);
  return hook;
}

/** Gradient-ready hooks registered and not yet removed (for tests). */
export const liveGradHookCount = (): number => live.size;
