// Training checkpoints: one safetensors file holding the model's tensors, the
// optimiser's state tensors and, as metadata, everything else needed to resume
// exactly (step, data position, random state, config). One file means one
// atomic rename: a checkpoint is either the old one or the new one.
import { existsSync } from 'node:fs';
import {
  getRngState, loadSafetensors, saveSafetensors, setRngState, type Module, type Tensor,
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
}

const MODEL = 'model.';
const OPTIM = 'optim.';

export function saveCheckpoint(file: string, model: Module, optimizer: Optimizer, meta: CheckpointMeta): void {
  // A run killed while writing leaves its temporary file; the next save clears it.
  removeStaleTemporaries(file, { onlyFile: true });
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) tensors.set(MODEL + name, t);
  const optimState = optimizer.stateDict();
  for (const [name, t] of optimState.tensors) tensors.set(OPTIM + name, t);
  saveSafetensors(file, tensors, {
    format: 'hyperclip-checkpoint-1',
    step: String(meta.step),
    optimizer: JSON.stringify({ step: optimState.step, lr: optimState.lr }),
    data: JSON.stringify(meta.dataState ?? null),
    rng: Buffer.from(getRngState()).toString('base64'),
    extra: JSON.stringify(meta.extra),
  });
}

/** Restores model, optimiser and random state in place; returns the rest. */
export function loadCheckpoint(file: string, model: Module, optimizer: Optimizer): CheckpointMeta {
  if (!existsSync(file)) throw new Error(`no checkpoint at ${file}: start without --resume, or point --resume at a run folder that has one`);
  const { tensors, metadata } = loadSafetensors(file);
  try {
    if (metadata.format !== 'hyperclip-checkpoint-1') throw new Error(`${file} is not a hyperclip training checkpoint`);
    const modelState = new Map<string, Tensor>();
    const optimTensors = new Map<string, Tensor>();
    for (const [name, t] of tensors) {
      if (name.startsWith(MODEL)) modelState.set(name.slice(MODEL.length), t);
      else if (name.startsWith(OPTIM)) optimTensors.set(name.slice(OPTIM.length), t);
    }
    model.loadStateDict(modelState);
    const optim = JSON.parse(metadata.optimizer ?? '{}') as { step: number; lr: number };
    optimizer.loadStateDict({ step: optim.step, lr: optim.lr, tensors: optimTensors });
    setRngState(new Uint8Array(Buffer.from(metadata.rng ?? '', 'base64')));
    return {
      step: Number(metadata.step),
      dataState: JSON.parse(metadata.data ?? 'null'),
      extra: JSON.parse(metadata.extra ?? '{}'),
    };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
