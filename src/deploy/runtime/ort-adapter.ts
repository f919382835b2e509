// onnxruntime-node and onnxruntime-web share one API (onnxruntime-common):
// this adapter turns either module into an OpenRunner. It imports neither,
// so the browser build never pulls in the Node binding and vice versa.
import { feedType, type InferenceRunner, type OpenRunner, type ResultTensor } from './session.js';

export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** The parts of an onnxruntime module (node or web) the runtime uses. */
export interface OrtLike {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSessionLike> };
  Tensor: new (type: 'float32' | 'int64' | 'int32' | 'uint8' | 'bool', data: never, dims: readonly number[]) => OrtTensorLike;
}

export function runnerFactory(ort: OrtLike, sessionOptions: Record<string, unknown> = {}): OpenRunner {
  return async (model: Uint8Array): Promise<InferenceRunner> => {
    let session: OrtSessionLike;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions);
    } catch (err) {
      throw new Error(`onnxruntime could not load the model: ${(err as Error).message}`);
    }
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      async run(feeds) {
        const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(feedType(t), t.data as never, t.dims)]));
        const results = await session.run(ortFeeds);
        const out: Record<string, ResultTensor> = {};
        for (const [name, t] of Object.entries(results)) out[name] = { data: t.data as ResultTensor['data'], dims: [...t.dims] };
        return out;
      },
      release: () => session.release(),
    };
  };
}
