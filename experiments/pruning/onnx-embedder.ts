// A pruned model's image encoder as the experiment runs it: traced to ONNX
// for one task's norm parameters (batch norm and generated norm parameters
// folded, as in a deployed classifier) and run by onnxruntime on one thread,
// several times faster than the engine's eager forward. It plugs into the
// evaluation (src/eval) as any other image embedder.
import type { Bundle } from '../../src/bundle/bundle.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { nodeOrt } from '../../src/deploy/runtime/node.js';
import { runnerFactory } from '../../src/deploy/runtime/ort-adapter.js';
import { F, zeros } from '../../src/engine/index.js';
import type { ImageEmbedder } from '../../src/eval/image-features.js';
import type { NormParams } from '../../src/models/index.js';

/** onnxruntime on one thread, all graph optimisations: the deployment runtime, measured fairly against HYPERCLIP_THREADS=1. */
export const openOneThread = runnerFactory(nodeOrt, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });

export interface OnnxImageEmbedder { embed: ImageEmbedder; release(): Promise<void> }

export async function onnxImageEmbedder(bundle: Bundle, normParams: NormParams | null): Promise<OnnxImageEmbedder> {
  const size = bundle.preprocess.size;
  const bytes = exportOnnx(({ image }) => F.normalize(bundle.model.encodeImage(image!, normParams ?? undefined), -1),
    [{ name: 'image', tensor: zeros([2, 3, size, size]), dynamicBatch: true }], { outputNames: ['embedding'], names: bundle.model.stateDict() });
  const runner = await openOneThread(bytes);
  return {
    embed: async (pixels, shape) => (await runner.run({ image: { data: pixels, dims: shape } })).embedding!.data as Float32Array,
    release: () => runner.release(),
  };
}
