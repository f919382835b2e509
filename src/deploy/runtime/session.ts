// The small surface the classifier needs from an ONNX runtime. onnxruntime-node
// and onnxruntime-web each get a file that adapts their InferenceSession to it;
// nothing else in the project imports a runtime package.

export type FeedData = Float32Array | BigInt64Array | Int32Array | Uint8Array;
export type FeedType = 'float32' | 'int64' | 'int32' | 'uint8' | 'bool';

export interface FeedTensor {
  data: FeedData;
  dims: number[];
  /** Defaults from the array type (Uint8Array: uint8); say 'bool' for masks. */
  type?: FeedType;
}

export interface ResultTensor {
  data: FeedData;
  dims: number[];
}

export interface InferenceRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, FeedTensor>): Promise<Record<string, ResultTensor>>;
  release(): Promise<void>;
}

/** Opens an ONNX model's bytes in a runtime. */
export type OpenRunner = (model: Uint8Array) => Promise<InferenceRunner>;

export function feedType(t: FeedTensor): FeedType {
  if (t.type !== undefined) return t.type;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int32Array) return 'int32';
  return 'uint8';
}
