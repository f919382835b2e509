// onnxruntime-web for the page, handed to hyperclip/web (which imports no
// runtime itself): the only file of the page that imports it.
import * as ort from 'onnxruntime-web';
// The build emits both files with the page's assets: no CDN. Worker threads
// start from the .mjs, so it must be the runtime's own file, not the bundle.
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import ortGlueUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import type { WebRuntime } from 'hyperclip/web';

export type Backend = 'webgpu' | 'wasm';

export interface RuntimeInfo {
  backend: Backend;
  threads: number;
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/**
 * Threads when the page is cross-origin isolated (hyperclip serve sends the
 * headers), WebGPU when the browser has an adapter.
 */
export async function configureRuntime(): Promise<RuntimeInfo> {
  ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, document.baseURI).href, mjs: new URL(ortGlueUrl, document.baseURI).href };
  const threads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.numThreads = threads;
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  let adapter: unknown = null;
  try {
    adapter = gpu === undefined ? null : await gpu.requestAdapter();
  } catch {
    adapter = null;
  }
  return { backend: adapter ? 'webgpu' : 'wasm', threads };
}

/** The runtime on the chosen backend; WebGPU falls back to WASM for the operators it lacks. */
export function runtimeFor(backend: Backend): WebRuntime {
  const executionProviders = backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
  return { ort, sessionOptions: { executionProviders, graphOptimizationLevel: 'all' } };
}
