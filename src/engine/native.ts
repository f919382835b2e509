// Loads the libtorch addon. Only the engine imports this file: models and
// everything above call the engine's functions, so that the same model code
// can also run on a tracing backend.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../project-root.js';
import type { TypedArray } from './dtype.js';
import { applyThreadWaitDefaults } from './thread-waits.js';

/** An opaque native tensor handle (a Node-API external). */
export type Handle = { readonly __nativeTensor: unique symbol };
/** An opaque native c10d process group (store and group; a Node-API external). */
export type ProcessGroupHandle = { readonly __nativeProcessGroup: unique symbol };
/** An opaque collective in flight (c10d Work and its tensors; a Node-API external). */
export type WorkHandle = { readonly __nativeWork: unique symbol };
/** An opaque gradient-ready hook on a leaf's gradient accumulator (a Node-API external). */
export type GradHookHandle = { readonly __nativeGradHook: unique symbol };

// Integer codes are shared with native/src: dtypes with dtype.ts, op codes
// with tensor.ts and functional.ts. A device is 'cpu', 'cuda' or 'cuda:N';
// where it is optional, undefined means the CPU.
type DTypeCode = number;
type OpCode = number;
/** 0 contiguous, 1 channels-last. */
type MemoryFormatCode = number;

/**
 * The addon's functions (native/src: addon.cc's Init, then the tables in
 * ops.cc, autograd_optim.cc, grad_hooks.cc and distributed.cc), typed as the engine calls
 * them. Only the engine calls them. NATIVE_FUNCTIONS below must list exactly
 * these names, and test/engine/native-exports.test.ts checks them against
 * the built addon, so a function added on one side only fails there.
 */
export interface NativeAddon {
  // ---- memory, threads, devices (addon.cc) ----
  /** malloc_trim: true when memory was returned to the operating system. */
  releaseMemory(): boolean;
  mallocStats(): { inUse: number; free: number };
  dispose(tensor: Handle): void;
  isDisposed(tensor: Handle): boolean;
  setScopeDepth(depth: number): void;
  reportExternal(tensor: Handle): void;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  version(): string;
  parallelInfo(): string;

  // ---- creation and transfer (ops.cc) ----
  /** Copies data, whose byte length must be exactly shape x the dtype's size. */
  fromBuffer(data: TypedArray, shape: number[], dtype: DTypeCode, device?: string): Handle;
  /** A copy of the (contiguous, CPU) data. */
  toBuffer(tensor: Handle): ArrayBuffer;
  item(tensor: Handle): number;
  meta(tensor: Handle): { shape: number[]; dtype: DTypeCode; device: string; requiresGrad: boolean };
  shape(tensor: Handle): number[];
  dtype(tensor: Handle): DTypeCode;
  zeros(shape: number[], dtype: DTypeCode, device?: string): Handle;
  ones(shape: number[], dtype: DTypeCode, device?: string): Handle;
  full(shape: number[], value: number, dtype: DTypeCode, device?: string): Handle;
  zerosLike(tensor: Handle): Handle;
  arange(start: number, end: number, step: number, dtype: DTypeCode, device?: string): Handle;
  rand(shape: number[], dtype: DTypeCode, device?: string): Handle;
  randn(shape: number[], dtype: DTypeCode, device?: string): Handle;
  /** int64 integers in [low, high). */
  randint(low: number, high: number, shape: number[], device?: string): Handle;
  randperm(n: number, device?: string): Handle;
  /** A device name moves the tensor, a dtype code converts it. */
  to(tensor: Handle, target: string | DTypeCode): Handle;

  // ---- elementwise ----
  unary(op: OpCode, x: Handle): Handle;
  /** A number on the right is a scalar operand. */
  binary(op: OpCode, a: Handle, b: Handle | number): Handle;
  clamp(x: Handle, min: number | null, max: number | null): Handle;
  where(condition: Handle, a: Handle | number, b: Handle | number): Handle;
  addcmul(base: Handle, a: Handle, b: Handle): Handle;
  /** clamp(x * scale + shift, min, max) per channel (scale, shift [C], [1, C] or [N, C]), forward and backward in one pass each; null: no bound. */
  channelAffine(x: Handle, scale: Handle, shift: Handle, min: number | null, max: number | null): Handle;
  maskedFill(x: Handle, mask: Handle, value: number): Handle;

  // ---- reductions (dims null: all) ----
  reduce(op: OpCode, x: Handle, dims: number[] | null, keepdim: boolean): Handle;
  /** argmax, or argmin when largest is false; dim null: over all elements. */
  argmax(x: Handle, dim: number | null, keepdim: boolean, largest: boolean): Handle;
  /** [values, indices], sorted. */
  topk(x: Handle, k: number, dim: number, largest: boolean): [Handle, Handle];
  norm(x: Handle, p: number, dims: number[] | null, keepdim: boolean): Handle;
  /** The variance, or the standard deviation when std is true. */
  variance(x: Handle, dims: number[] | null, unbiased: boolean, keepdim: boolean, std: boolean): Handle;
  cumsum(x: Handle, dim: number): Handle;

  // ---- shape ----
  reshape(x: Handle, shape: number[]): Handle;
  permute(x: Handle, dims: number[]): Handle;
  transpose(x: Handle, dim0: number, dim1: number): Handle;
  cat(tensors: Handle[], dim: number): Handle;
  stack(tensors: Handle[], dim: number): Handle;
  slice(x: Handle, dim: number, start: number, end: number, step: number): Handle;
  indexSelect(x: Handle, dim: number, index: Handle): Handle;
  gather(x: Handle, dim: number, index: Handle): Handle;
  expand(x: Handle, shape: number[]): Handle;
  /** dim null: every dimension of size 1. */
  squeeze(x: Handle, dim: number | null): Handle;
  unsqueeze(x: Handle, dim: number): Handle;
  contiguous(x: Handle, format: MemoryFormatCode): Handle;
  isContiguous(x: Handle, format: MemoryFormatCode): boolean;
  flatten(x: Handle, start: number, end: number): Handle;
  repeat(x: Handle, repeats: number[]): Handle;
  /** triu when upper is true, else tril. */
  triangle(x: Handle, diagonal: number, upper: boolean): Handle;
  flip(x: Handle, dims: number[]): Handle;
  clone(x: Handle): Handle;
  pad(x: Handle, padding: number[], value: number): Handle;

  // ---- neural network ----
  conv2d(x: Handle, weight: Handle, bias: Handle | null, stride: number[], padding: number[], dilation: number[], groups: number): Handle;
  batchNorm(x: Handle, weight: Handle | null, bias: Handle | null, runningMean: Handle | null, runningVar: Handle | null,
    training: boolean, momentum: number, eps: number): Handle;
  layerNorm(x: Handle, normalizedShape: number[], weight: Handle | null, bias: Handle | null, eps: number): Handle;
  groupNorm(x: Handle, groups: number, weight: Handle | null, bias: Handle | null, eps: number): Handle;
  linear(x: Handle, weight: Handle, bias: Handle | null): Handle;
  matmul(a: Handle, b: Handle): Handle;
  bmm(a: Handle, b: Handle): Handle;
  embedding(weight: Handle, indices: Handle): Handle;
  dropout(x: Handle, p: number, training: boolean): Handle;
  /** log-softmax when log is true. */
  softmax(x: Handle, dim: number, log: boolean): Handle;
  /** reduction: 0 none, 1 mean, 2 sum. */
  crossEntropy(logits: Handle, targets: Handle, labelSmoothing: number, reduction: number): Handle;
  adaptiveAvgPool2d(x: Handle, outputSize: number[]): Handle;
  avgPool2d(x: Handle, kernel: number[], stride: number[], padding: number[]): Handle;
  maxPool2d(x: Handle, kernel: number[], stride: number[], padding: number[]): Handle;
  /** mode: 0 nearest, 1 bilinear. */
  interpolate(x: Handle, size: number[], mode: number, alignCorners: boolean): Handle;

  // ---- autograd (autograd_optim.cc) ----
  setRequiresGrad(tensor: Handle, requiresGrad: boolean): void;
  requiresGrad(tensor: Handle): boolean;
  /** gradient null: the loss must be a scalar. */
  backward(loss: Handle, gradient: Handle | null, retainGraph: boolean): void;
  grad(tensor: Handle): Handle | null;
  setGrad(tensor: Handle, gradient: Handle | null): void;
  zeroGrad(tensors: Handle[]): void;
  detach(tensor: Handle): Handle;
  /** Returns the previous mode. */
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;

  // ---- gradient-ready hooks (grad_hooks.cc) ----
  /** fn() runs during each backward, right after the leaf's gradient is accumulated (CPU backward only). */
  addGradReadyHook(leaf: Handle, fn: () => void): GradHookHandle;
  /** Idempotent; from inside a hook it disables the hook. */
  removeGradReadyHook(hook: GradHookHandle): void;

  // ---- in-place updates, never recorded by autograd ----
  copyInto(destination: Handle, source: Handle): void;
  fillInPlace(tensor: Handle, value: number): void;
  mulInPlace(tensor: Handle, factor: number): void;
  addInPlace(tensor: Handle, addend: Handle, alpha: number): void;

  // ---- optimiser steps over one parameter group ----
  adamwStep(params: Handle[], expAvg: Handle[], expAvgSq: Handle[],
    options: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number }): void;
  sgdStep(params: Handle[], momentumBuffers: Handle[],
    options: { lr: number; momentum: number; weightDecay: number; nesterov: boolean; first: boolean }): void;
  /** Returns the joint 2-norm before clipping. */
  clipGradNorm(params: Handle[], maxNorm: number): number;

  // ---- random state ----
  manualSeed(seed: number): void;
  getRngState(): ArrayBuffer;
  setRngState(state: Uint8Array): void;

  // ---- c10d process groups (distributed.cc) ----
  /** backend: 0 gloo, 1 nccl; empty glooHostname / glooInterface: Gloo's default device. */
  distConnect(masterAddr: string, masterPort: number, rank: number, worldSize: number, timeoutMs: number, backend: number,
    glooHostname: string, glooInterface: string): ProcessGroupHandle;
  distBroadcast(group: ProcessGroupHandle, tensors: Handle[], root: number): void;
  /** op: 0 sum, 1 average. */
  distAllReduce(group: ProcessGroupHandle, tensor: Handle, op: number): void;
  /** Launches an all-reduce (op: 0 sum, 1 average) and returns at once; the tensor is off limits until distWorkWait. */
  distAllReduceAsync(group: ProcessGroupHandle, tensor: Handle, op: number): WorkHandle;
  /** Blocks until the collective is done, then completes the in-place result; a second call does nothing. */
  distWorkWait(work: WorkHandle): void;
  /** One tensor per rank, in rank order. */
  distAllGather(group: ProcessGroupHandle, tensor: Handle): Handle[];
  distBarrier(group: ProcessGroupHandle): void;
  distClose(group: ProcessGroupHandle): void;
  distNcclAvailable(): boolean;
}

/** The names of NativeAddon's functions, for the check against the built addon. */
export const NATIVE_FUNCTIONS = [
  'releaseMemory', 'mallocStats', 'dispose', 'isDisposed', 'setScopeDepth', 'reportExternal', 'setNumThreads', 'getNumThreads',
  'cudaAvailable', 'cudaDeviceCount', 'version', 'parallelInfo',
  'fromBuffer', 'toBuffer', 'item', 'meta', 'shape', 'dtype', 'zeros', 'ones', 'full', 'zerosLike', 'arange', 'rand', 'randn',
  'randint', 'randperm', 'to', 'unary', 'binary', 'clamp', 'where', 'addcmul', 'channelAffine', 'maskedFill', 'reduce', 'argmax', 'topk', 'norm',
  'variance', 'cumsum', 'reshape', 'permute', 'transpose', 'cat', 'stack', 'slice', 'indexSelect', 'gather', 'expand', 'squeeze',
  'unsqueeze', 'contiguous', 'isContiguous', 'flatten', 'repeat', 'triangle', 'flip', 'clone', 'pad', 'conv2d', 'batchNorm',
  'layerNorm', 'groupNorm', 'linear', 'matmul', 'bmm', 'embedding', 'dropout', 'softmax', 'crossEntropy', 'adaptiveAvgPool2d',
  'avgPool2d', 'maxPool2d', 'interpolate',
  'setRequiresGrad', 'requiresGrad', 'backward', 'grad', 'setGrad', 'zeroGrad', 'detach', 'setGradEnabled', 'isGradEnabled',
  'addGradReadyHook', 'removeGradReadyHook',
  'copyInto', 'fillInPlace', 'mulInPlace', 'addInPlace', 'adamwStep', 'sgdStep', 'clipGradNorm', 'manualSeed', 'getRngState',
  'setRngState',
  'distConnect', 'distBroadcast', 'distAllReduce', 'distAllReduceAsync', 'distWorkWait', 'distAllGather', 'distBarrier', 'distClose', 'distNcclAvailable',
] as const satisfies readonly (keyof NativeAddon)[];

// The other direction: a function of NativeAddon missing from the list makes
// this declaration fail to compile, naming the function.
type UnlistedNativeFunction = Exclude<keyof NativeAddon, (typeof NATIVE_FUNCTIONS)[number]>;
const everyFunctionListed: [UnlistedNativeFunction] extends [never] ? true : UnlistedNativeFunction = true;
void everyFunctionListed;


/** Where the addon is expected: HYPERCLIP_ADDON, else the package's native/build. */
export const addonPath = (): string => process.env.HYPERCLIP_ADDON ?? path.join(projectRoot(), 'native/build/Release/hyperclip_torch.node');

/** Whether the addon file exists (built), without loading it. */
export const addonBuilt = (): boolean => existsSync(addonPath());

// The addon is optional (generation and classification run on onnxruntime):
// the one line says what needs it and how to build it, in a clone or an install.
const HOW_TO_BUILD = 'install libtorch (Debian: apt-get install libtorch-dev, or LIBTORCH=/path/to/libtorch) and run `npm run build:native` ' +
  'in the hyperclip folder (a clone of the repository: `bash scripts/setup.sh`)';

function load(): NativeAddon {
  const addon = addonPath();
  if (!existsSync(addon)) {
    throw new Error(`training, evaluation and the libtorch engine need the libtorch addon, which is not built (${addon}): ${HOW_TO_BUILD}`);
  }
  applyThreadWaitDefaults();
  try {
    return createRequire(import.meta.url)(addon) as NativeAddon;
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`could not load the libtorch addon ${addon} (${message}): ${HOW_TO_BUILD}`);
  }
}

let binding: NativeAddon | null = null;

/** The addon, loaded on first use so that importing the engine never fails by itself. */
export function native(): NativeAddon {
  if (binding === null) binding = load();
  return binding;
}
