// Runs K training steps of our model in PyTorch (bench/reference/train_step.py)
// from files our engine writes: the resolved model config, the weights as
// they are now, and the batches. Shared by bench/train-torch.ts and the
// parity test, so both compare against the same reference.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, loadSafetensors, saveSafetensors, tensor, type Tensor } from '../src/engine/index.js';
import type { HyperClip } from '../src/models/index.js';
import { applyThreadWaitDefaults } from '../src/engine/thread-waits.js';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/reference/train_step.py');
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** Whether `python` can import torch (the reference needs Debian's python3-torch). */
export function torchAvailable(python = DEFAULT_PYTHON): boolean {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

export interface ReferenceBatch {
  images: Float32Array; // [B, 3, H, W]
  ids: Tensor; // int64 [B, T]
  size: number;
  height: number;
  width: number;
}

export interface ReferenceInputs {
  config: string;
  weights: string;
  batches: string;
}

/** Writes the model's config and current state dict, and the batches stacked to [K, ...]. */
export function writeReferenceInputs(dir: string, model: HyperClip, batches: ReferenceBatch[]): ReferenceInputs {
  mkdirSync(dir, { recursive: true });
  const files = { config: path.join(dir, 'config.json'), weights: path.join(dir, 'init.safetensors'), batches: path.join(dir, 'batches.safetensors') };
  writeFileSync(files.config, JSON.stringify(model.config));
  saveSafetensors(files.weights, model.stateDict());
  const images = batches.map((b) => tensor(b.images, [b.size, 3, b.height, b.width]));
  // Every batch is padded to the same token length by the tokenizer (its context), so they stack.
  const stacked = new Map<string, Tensor>([['images', F.stack(images, 0)], ['ids', F.stack(batches.map((b) => b.ids), 0)]]);
  saveSafetensors(files.batches, stacked);
  for (const t of [...images, ...stacked.values()]) t.dispose();
  return files;
}

export interface ReferenceOptions {
  lrs: number[];
  threads: number;
  weightDecay: number;
  gradClip: number;
  /** Write the PyTorch state dict after this step (1-based) to this file. */
  weightsAfter?: { step: number; file: string };
  /** Write PyTorch's raw gradients of step 1 to this file. */
  gradsFile?: string;
  python?: string;
}

export interface ReferenceResult {
  threads: number;
  torch: string;
  loss: number[];
  grad_norm: number[];
  step_seconds: number[];
  batch: number;
}

export function runTorchReference(inputs: ReferenceInputs, o: ReferenceOptions): ReferenceResult {
  const args = [script, '--config', inputs.config, '--weights', inputs.weights, '--batches', inputs.batches,
    '--lrs', JSON.stringify(o.lrs), '--threads', String(o.threads), '--weight-decay', String(o.weightDecay), '--grad-clip', String(o.gradClip)];
  if (o.weightsAfter) args.push('--out-weights', o.weightsAfter.file, '--save-after', String(o.weightsAfter.step));
  if (o.gradsFile) args.push('--grads-out', o.gradsFile);
  const python = o.python ?? DEFAULT_PYTHON;
  applyThreadWaitDefaults(); // the reference waits as the engine's libtorch does
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`the PyTorch reference (${python} bench/reference/train_step.py) failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-5).join(' | ')}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ReferenceResult;
}

/** Float data of a state dict (or any named tensors), copied out. */
export function snapshot(tensors: Iterable<[string, Tensor]>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of tensors) if (t.dtype === 'float32') out.set(name, Float32Array.from(t.toArray()));
  return out;
}

export function loadSnapshot(file: string): Map<string, Float32Array> {
  const { tensors } = loadSafetensors(file);
  const out = snapshot(tensors);
  for (const t of tensors.values()) t.dispose();
  return out;
}

export interface TensorDiff { name: string; maxAbs: number; scale: number }

/**
 * Per tensor: the largest absolute difference and the tensor's own largest
 * magnitude (to judge it). Names present on one side only are an error.
 */
export function compareTensors(ours: Map<string, Float32Array>, theirs: Map<string, Float32Array>): TensorDiff[] {
  const missing = [...ours.keys()].filter((k) => !theirs.has(k)).concat([...theirs.keys()].filter((k) => !ours.has(k)));
  if (missing.length > 0) throw new Error(`tensors on one side only: ${missing.slice(0, 5).join(', ')}`);
  return [...ours].map(([name, a]) => {
    const b = theirs.get(name)!;
    if (a.length !== b.length) throw new Error(`${name}: ${a.length} vs ${b.length} values`);
    let maxAbs = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!), Math.abs(b[i]!));
    }
    return { name, maxAbs, scale };
  });
}
