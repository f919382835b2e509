// Step-level checkpoints of a compression run (src/compress/adasap.ts): a run
// killed at any point resumes from its last checkpoint and ends as the
// uninterrupted run would. A checkpoint folder holds
//   warm-up.safetensors             the warm-up under way: model, optimiser,
//                                   data position, random state, step, the
//                                   losses of the tail it averages, the Taylor
//                                   saliency sums and the scores the channel
//                                   radii were last set from (removed once the
//                                   warm-up is done)
//   warmed.safetensors              the finished warm-up: its model, saliency
//                                   scores, loss, seconds and random state;
//                                   the fine-tune of every FLOPs ratio starts
//                                   from it
//   fine-tune-f<ratio>.safetensors  that ratio's fine-tune under way (its last
//                                   checkpoint is the finished fine-tune)
// Each is one file written atomically (src/train/checkpoint.ts), and each
// records the settings it was written under: one from other settings is
// refused, never mixed in.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { getRngState, type AdamW, type Module } from '../engine/index.js';
import type { LoaderState } from '../data/index.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import type { CompressConfig } from './adasap-recipe.js';

export interface CompressCheckpointOption {
  /** The folder of the checkpoint files (made when needed). */
  dir: string;
  /** Steps between checkpoints within a phase; a phase's last step is always saved. */
  everySteps: number;
}

export type PhaseName = 'warm-up' | 'fine-tune';

/** What a phase keeps beside the model and the optimiser (the warm-up's saliency). */
export interface PhaseExtras {
  arrays: Map<string, Float32Array>;
  numbers: Record<string, number>;
}

/** Where a phase stands after a step: all its checkpoint holds besides model, optimiser and random state. */
export interface PhaseProgress {
  step: number;
  dataState: LoaderState;
  /** The losses of the tail the phase averages, so far. */
  tail: number[];
  /** Seconds the phase has run, in every process together. */
  seconds: number;
  /** Random numbers the recipe's distillation has drawn (0 without one). */
  distillDraws: number;
  extras: PhaseExtras;
}

/** Settings of the fine-tune alone: the warm-up is the same for every value of these. */
const FINETUNE_ONLY: readonly string[] = ['flopsRatio', 'finetuneSteps', 'asamRho', 'asamEta', 'granularity', 'minKeepFraction', 'saliencyScale', 'calibrationImages'] satisfies (keyof CompressConfig)[];

interface Settings { phase: PhaseName; config: Record<string, unknown>; model: unknown }

/** The settings a phase's result depends on, as its file will hold them. */
function settingsOf(phase: PhaseName, config: CompressConfig, model: unknown): Settings {
  const kept = Object.fromEntries(Object.entries(config).filter(([key]) => phase === 'fine-tune' || !FINETUNE_ONLY.includes(key)));
  return JSON.parse(JSON.stringify({ phase, config: kept, model })) as Settings;
}

function differences(saved: Partial<Settings> | undefined, now: Settings): string[] {
  if (saved?.config === undefined) return ['no settings recorded'];
  const out: string[] = [];
  if (saved.phase !== now.phase) out.push(`phase ${saved.phase} there, ${now.phase} now`);
  for (const key of new Set([...Object.keys(saved.config), ...Object.keys(now.config)])) {
    const [there, here] = [JSON.stringify(saved.config[key]) ?? 'unset', JSON.stringify(now.config[key]) ?? 'unset'];
    if (there !== here) out.push(`${key} ${there} there, ${here} now`);
  }
  if (JSON.stringify(saved.model) !== JSON.stringify(now.model)) out.push('another model architecture');
  return out;
}

/** Maps of arrays under one name prefix inside a checkpoint's arrays. */
export const prefixed = (prefix: string, arrays: Map<string, Float32Array>): [string, Float32Array][] => [...arrays].map(([k, a]) => [`${prefix}.${k}`, a]);
export const unprefixed = (prefix: string, arrays: Map<string, Float32Array>): Map<string, Float32Array> =>
  new Map([...arrays].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, a]) => [k.slice(prefix.length + 1), a]));

/** One phase's checkpoint file. */
export class PhaseCheckpoint {
  constructor(readonly file: string, private readonly settings: Settings, private readonly everySteps: number, private readonly dir: string) {}

  /** Whether the step just finished is saved. */
  due(step: number, steps: number): boolean {
    return step % this.everySteps === 0 || step === steps;
  }

  /** Restores model, optimiser and random state from the file, if there is one; refuses one written under other settings. */
  resume(model: Module, optimizer: AdamW): PhaseProgress | null {
    if (!existsSync(this.file)) return null;
    const saved = loadCheckpoint(this.file, model, optimizer, { check: ({ extra }) => checkSettings(this.file, this.dir, extra.settings as Settings, this.settings) });
    const extra = saved.extra as { tail: number[]; seconds: number; distillDraws: number; numbers: Record<string, number> };
    return {
      step: saved.step, dataState: saved.dataState as LoaderState, tail: extra.tail, seconds: extra.seconds, distillDraws: extra.distillDraws,
      extras: { arrays: saved.arrays, numbers: extra.numbers },
    };
  }

  save(model: Module, optimizer: AdamW, progress: PhaseProgress): void {
    const { step, dataState, tail, seconds, distillDraws, extras } = progress;
    saveCheckpoint(this.file, model, optimizer, {
      step, dataState, extra: { settings: this.settings, tail, seconds, distillDraws, numbers: extras.numbers }, arrays: extras.arrays,
    });
  }
}

function checkSettings(file: string, dir: string, saved: Settings | undefined, now: Settings): void {
  const diff = differences(saved, now);
  if (diff.length > 0) {
    throw new Error(`${file} was written under other settings (${diff.join('; ')}): resume with the settings it was written under, or delete ${dir} to start over`);
  }
}

/** The warm-up's result as warmed.safetensors keeps it (the model's weights go back into the model). */
export interface WarmedState {
  scores: Map<string, Float32Array>;
  warmupLoss: number;
  seconds: number;
  /** The random state the warm-up ended with. */
  rngState: Uint8Array;
}

/** The checkpoint folder of one compression (one model, method and seed: the fine-tunes of every ratio share its warm-up). */
export class CompressCheckpoints {
  readonly dir: string;
  private readonly everySteps: number;

  /** `model`: the dense model's config, recorded with the settings. */
  constructor(option: CompressCheckpointOption, private readonly model: unknown) {
    if (!Number.isInteger(option.everySteps) || option.everySteps < 1) throw new Error(`expected a positive integer of steps between checkpoints but received ${option.everySteps}`);
    this.dir = option.dir;
    this.everySteps = option.everySteps;
    mkdirSync(this.dir, { recursive: true });
  }

  get warmedFile(): string {
    return path.join(this.dir, 'warmed.safetensors');
  }

  phase(phase: PhaseName, config: CompressConfig): PhaseCheckpoint {
    return new PhaseCheckpoint(phaseFile(this.dir, phase, config), settingsOf(phase, config, this.model), this.everySteps, this.dir);
  }

  /** The finished warm-up into `model`, with the random state it ended with; null when there is none yet. */
  loadWarmed(model: Module, config: CompressConfig): WarmedState | null {
    if (!existsSync(this.warmedFile)) return null;
    const settings = settingsOf('warm-up', config, this.model);
    const saved = loadCheckpoint(this.warmedFile, model, null, { check: ({ extra }) => checkSettings(this.warmedFile, this.dir, extra.settings as Settings, settings) });
    const extra = saved.extra as { warmupLoss: number | null; seconds: number };
    return { scores: unprefixed('scores', saved.arrays), warmupLoss: extra.warmupLoss ?? NaN, seconds: extra.seconds, rngState: getRngState() };
  }

  /** Keeps the finished warm-up (the random state is the engine's now) and drops the checkpoint of its steps. */
  saveWarmed(model: Module, config: CompressConfig, warmed: Omit<WarmedState, 'rngState'>): void {
    saveCheckpoint(this.warmedFile, model, null, {
      step: config.warmupSteps, dataState: null, arrays: new Map(prefixed('scores', warmed.scores)),
      // JSON has no NaN: a warm-up of 0 steps has no loss.
      extra: { settings: settingsOf('warm-up', config, this.model), warmupLoss: Number.isNaN(warmed.warmupLoss) ? null : warmed.warmupLoss, seconds: warmed.seconds },
    });
    rmSync(phaseFile(this.dir, 'warm-up', config), { force: true });
  }
}

const phaseFile = (dir: string, phase: PhaseName, config: CompressConfig): string =>
  path.join(dir, phase === 'warm-up' ? 'warm-up.safetensors' : `fine-tune-f${config.flopsRatio}.safetensors`);

/** Drops a ratio's fine-tune checkpoint once its model is kept elsewhere (the warmed model stays, for other ratios). */
export function removeFinetuneCheckpoint(dir: string, config: CompressConfig): void {
  rmSync(phaseFile(dir, 'fine-tune', config), { force: true });
}
