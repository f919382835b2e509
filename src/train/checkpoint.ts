// Training checkpoints: one safetensors file holding the model's tensors, the
// optimiser's state tensors (if any), further float arrays of the caller's and,
// as metadata, everything else needed to resume exactly (step, data position,
// random state, config). One file means one atomic rename: a checkpoint is
// either the old one or the new one.
import { existsSync } from 'node:fs';
import {
  getRngState, loadSafetensors, noGrad, readSafetensorsMetadata, saveSafetensors, setRngState, tensor, type Module, type Tensor,
} from '../engine/index.js';
import type { AdamW, SGD } from '../engine/index.js';
import { removeStaleTemporaries } from '../engine/atomic-write.js';

type Optimizer = AdamW | SGD;

export interface CheckpointMeta {
  step: number;
  /** The data loader's resumable position. */
  dataState: unknown;
  /** Anything else the trainer wants back (config, seed, best metrics). */
  extra: Record<string, unknown>;
  /** Float arrays kept beside the model, by name (compression's saliency sums); none when absent. */
  arrays?: Map<string, Float32Array>;
}

const MODEL = 'model.';
const OPTIM = 'optim.';
const ARRAY = 'array.';

/** optimizer null: the model's weights alone (a finished phase that a later one starts from). */
export function saveCheckpoint(file: string, model: Module, optimizer: Optimizer | null, meta: CheckpointMeta): void {
  // A run killed while writing leaves its temporary file; the next save clears it.
  removeStaleTemporaries(file, { onlyFile: true });
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) tensors.set(MODEL + name, t);
  const optimState = optimizer?.stateDict() ?? null;
  for (const [name, t] of optimState?.tensors ?? []) tensors.set(OPTIM + name, t);
  const arrays = noGrad(() => [...meta.arrays ?? []].map(([name, a]) => [ARRAY + name, tensor(a, [a.length])] as const));
  try {
    for (const [name, t] of arrays) tensors.set(name, t);
    saveSafetensors(file, tensors, {
      format: 'hyperclip-checkpoint-1',
      step: String(meta.step),
      optimizer: JSON.stringify(optimState === null ? null : { step: optimState.step, lr: optimState.lr }),
      data: JSON.stringify(meta.dataState ?? null),
      rng: Buffer.from(getRngState()).toString('base64'),
      extra: JSON.stringify(meta.extra),
    });
  } finally {
    for (const [, t] of arrays) t.dispose();
  }
}

export interface LoadCheckpointOptions {
  /** Sees the saved step and extra before anything is restored; throws to refuse the checkpoint. */
  check?: (saved: Pick<CheckpointMeta, 'step' | 'extra'>) => void;
}

/** Restores model, optimiser (unless null) and random state in place; returns the rest. */
export function loadCheckpoint(file: string, model: Module, optimizer: Optimizer | null, options: LoadCheckpointOptions = {}): CheckpointMeta & { arrays: Map<string, Float32Array> } {
  if (!existsSync(file)) throw new Error(`no checkpoint at ${file}: start without --resume, or point --resume at a run folder that has one`);
  const { tensors, metadata } = loadSafetensors(file);
  try {
    const { step, extra } = stepAndExtra(metadata, file);
    options.check?.({ step, extra });
    const modelState = new Map<string, Tensor>();
    const optimTensors = new Map<string, Tensor>();
    const arrays = new Map<string, Float32Array>();
    for (const [name, t] of tensors) {
      if (name.startsWith(MODEL)) modelState.set(name.slice(MODEL.length), t);
      else if (name.startsWith(OPTIM)) optimTensors.set(name.slice(OPTIM.length), t);
      else if (name.startsWith(ARRAY)) arrays.set(name.slice(ARRAY.length), Float32Array.from(t.toArray()));
    }
    model.loadStateDict(modelState);
    const optim = JSON.parse(metadata.optimizer ?? 'null') as { step: number; lr: number } | null;
    if (optimizer !== null) {
      if (optim === null) throw new Error(`${file} holds no optimiser state: it is not a checkpoint to resume training from`);
      optimizer.loadStateDict({ step: optim.step, lr: optim.lr, tensors: optimTensors });
    }
    setRngState(new Uint8Array(Buffer.from(metadata.rng ?? '', 'base64')));
    return { step, dataState: JSON.parse(metadata.data ?? 'null'), extra, arrays };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** A checkpoint's step and extra from its header, restoring nothing: to refuse a checkpoint of other settings before a long set-up. */
export function checkpointInfo(file: string): Pick<CheckpointMeta, 'step' | 'extra'> {
  return stepAndExtra(readSafetensorsMetadata(file), file);
}

function stepAndExtra(metadata: Record<string, string>, file: string): Pick<CheckpointMeta, 'step' | 'extra'> {
  if (metadata.format !== 'hyperclip-checkpoint-1') throw new Error(`${file} is not a hyperclip training checkpoint`);
  return { step: Number(metadata.step), extra: JSON.parse(metadata.extra ?? '{}') as Record<string, unknown> };
}
