// Trains the text encoder towards fixed targets in the embedding space: each
// step draws classes, prompts each with a random template and one of its
// names, and either pulls the prompt's normalised embedding towards its
// class's target vector (objective 'cosine': no logit scale enters) or makes
// the prompts, as a classifier at a fixed scale, reproduce a teacher's class
// probabilities on cached image embeddings (objective 'distill': the step's
// classes are its images' top teacher classes and random others); beside that it
// keeps a draw of captions where the model had them before tuning, so that
// retrieval and names outside the targets keep what they knew. Everything
// but the text encoder stays as it is; the hypernetwork still reads the
// tuned text, as deployment does.
import { F, tensor, type AdamW, type Tensor } from '../engine/index.js';
import { createRng, randomIndex, shuffled, type Rng } from '../data/random.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import type { HyperClip } from '../models/hyperclip.js';
import { tokenize } from '../eval/text-features.js';
import { warmupCosine } from './schedule.js';
import { optimizerStep } from './train-step.js';

export const TEXT_TARGET_OBJECTIVES = ['cosine', 'distill'] as const;
export type TextTargetObjective = typeof TEXT_TARGET_OBJECTIVES[number];

export interface TextTargetTuningConfig {
  objective: TextTargetObjective;
  steps: number;
  /** Target classes drawn per step (at most the number of classes). */
  classesPerStep: number;
  /** Kept captions drawn per step; 0 turns the keep term off. */
  captionsPerStep: number;
  /** Weight of the keep term beside the target term. */
  keepWeight: number;
  /** Peak learning rate (10% warm-up, cosine to zero). */
  lr: number;
  gradClip: number;
  seed: number;
}

export interface TextTargets {
  /** Per target class, the names its prompts may use. */
  names: readonly (readonly string[])[];
  templates: readonly string[];
  /** [K, E], unit rows, one per entry of names. */
  vectors: Tensor;
  /** Captions whose embeddings are kept. */
  captions: readonly string[];
  /** The model's normalised embeddings of those captions before tuning [M, E]. */
  captionEmbeddings: Tensor;
  /** For the 'distill' objective. */
  teacher?: CachedTeacher;
}

/** Fixed images for the 'distill' objective. */
export interface CachedTeacher {
  /** Normalised image embeddings [N, E]. */
  embeddings: Tensor;
  /** The teacher's logits over the target classes [N, K]. */
  logits: Tensor;
  /** The fixed scale of the prompts' cosine logits. */
  scale: number;
  temperature: number;
  imagesPerStep: number;
}

export interface TextTargetStep {
  step: number;
  loss: number;
  /** The soft cross-entropy to the teacher (objective 'distill'; NaN otherwise). */
  distillLoss: number;
  /** Mean cosine of the drawn prompts to their targets, and of the drawn captions to where they were. */
  targetCosine: number;
  keptCosine: number;
  lr: number;
}

export function checkTextTargets(model: HyperClip, targets: TextTargets, config: TextTargetTuningConfig): void {
  const classes = targets.names.length;
  const width = model.config.embedDim;
  if (classes === 0) throw new Error('text-target tuning: no target classes');
  const nameless = targets.names.findIndex((n) => n.length === 0);
  if (nameless >= 0) throw new Error(`text-target tuning: target class ${nameless} has no name`);
  if (targets.templates.length === 0 || targets.templates.some((t) => !t.includes('{}'))) throw new Error('text-target tuning: templates must be a non-empty list of strings with {}');
  if (targets.vectors.ndim !== 2 || targets.vectors.size(0) !== classes || targets.vectors.size(1) !== width) {
    throw new Error(`text-target tuning: target vectors [${targets.vectors.shape}] must be [${classes}, ${width}] (classes, the model's embedding width)`);
  }
  if (targets.captionEmbeddings.ndim !== 2 || targets.captionEmbeddings.size(0) !== targets.captions.length || targets.captionEmbeddings.size(1) !== width) {
    throw new Error(`text-target tuning: kept caption embeddings [${targets.captionEmbeddings.shape}] must be [${targets.captions.length}, ${width}]`);
  }
  const positive = (name: Exclude<keyof TextTargetTuningConfig, 'objective'>, zero = false) => {
    const v = config[name];
    if (!Number.isFinite(v) || v < 0 || (!zero && v === 0)) throw new Error(`text-target tuning: ${name} must be ${zero ? 'non-negative' : 'positive'}, got ${v}`);
  };
  if (!TEXT_TARGET_OBJECTIVES.includes(config.objective)) throw new Error(`text-target tuning: objective must be one of ${TEXT_TARGET_OBJECTIVES.join(', ')}, got ${JSON.stringify(config.objective)}`);
  const teacher = targets.teacher;
  if (config.objective === 'distill') {
    if (teacher === undefined) throw new Error('text-target tuning: the distill objective needs cached image embeddings and teacher logits');
    if (teacher.embeddings.ndim !== 2 || teacher.embeddings.size(1) !== width || teacher.logits.ndim !== 2
      || teacher.logits.size(0) !== teacher.embeddings.size(0) || teacher.logits.size(1) !== classes) {
      throw new Error(`text-target tuning: cached embeddings [${teacher.embeddings.shape}] and teacher logits [${teacher.logits.shape}] must be [N, ${width}] and [N, ${classes}]`);
    }
    if (!(teacher.scale > 0) || !(teacher.temperature > 0)) throw new Error(`text-target tuning: the distill scale and temperature must be positive, got ${teacher.scale} and ${teacher.temperature}`);
    if (!Number.isInteger(teacher.imagesPerStep) || teacher.imagesPerStep < 1 || teacher.imagesPerStep > teacher.embeddings.size(0)) {
      throw new Error(`text-target tuning: ${teacher.imagesPerStep} images per step from ${teacher.embeddings.size(0)} cached images`);
    }
  }
  positive('steps'); positive('classesPerStep'); positive('captionsPerStep', true); positive('keepWeight', true); positive('lr'); positive('gradClip');
  if (config.classesPerStep > classes) throw new Error(`text-target tuning: ${config.classesPerStep} classes per step but only ${classes} target classes`);
  if (config.captionsPerStep > 0 && targets.captions.length === 0) throw new Error('text-target tuning: captionsPerStep > 0 but no captions to keep');
}

/**
 * Runs the tuning on `optimizer` (over the text encoder's trainable
 * parameters; the caller freezes the rest), calling onStep after each step.
 * With startStep (a resumed run: model and optimiser restored from the
 * checkpoint written after that many steps) the earlier steps' draws are
 * replayed without computing them, so the run goes on with the same draws.
 */
export function tuneTextTowardTargets(model: HyperClip, tokenizer: Tokenizer, targets: TextTargets, config: TextTargetTuningConfig, optimizer: AdamW,
  onStep: (s: TextTargetStep) => void = () => {}, startStep = 0): TextTargetStep[] {
  checkTextTargets(model, targets, config);
  if (!Number.isInteger(startStep) || startStep < 0 || startStep > config.steps) throw new Error(`text-target tuning: cannot resume after step ${startStep} of ${config.steps}`);
  const rng = createRng(config.seed ^ 0x2545f491);
  const device = targets.vectors.device;
  const history: TextTargetStep[] = [];
  const topClass = targets.teacher === undefined ? [] : Array.from(targets.teacher.logits.argmax(1).toArray() as ArrayLike<number | bigint>, Number);
  for (let step = 0; step < config.steps; step++) {
    optimizer.lr = warmupCosine(step, { lr: config.lr, warmupSteps: Math.max(1, Math.round(config.steps / 10)), totalSteps: config.steps });
    const images = config.objective === 'distill' ? drawDistinct(rng, topClass.length, targets.teacher!.imagesPerStep) : [];
    const classes = config.objective === 'distill'
      ? withTopClasses(rng, images.map((i) => topClass[i]!), targets.names.length, config.classesPerStep)
      : drawDistinct(rng, targets.names.length, config.classesPerStep);
    const prompts = classes.map((c) => {
      const names = targets.names[c]!;
      return targets.templates[randomIndex(rng, targets.templates.length)]!.replaceAll('{}', names[randomIndex(rng, names.length)]!);
    });
    const kept = config.captionsPerStep > 0 ? drawDistinct(rng, targets.captions.length, Math.min(config.captionsPerStep, targets.captions.length)) : [];
    if (step < startStep) continue;
    let targetCosine = NaN, keptCosine = NaN, distillLoss = NaN;
    const { loss } = optimizerStep(() => {
      const indexOf = (rows: number[]) => tensor(BigInt64Array.from(rows, BigInt), [rows.length], { dtype: 'int64' }).to(device);
      const text = F.normalize(model.encodeText(tokenize(tokenizer, prompts).to(device)), -1); // [K, E]
      const classIndex = indexOf(classes);
      const toTarget = text.mul(targets.vectors.indexSelect(0, classIndex)).sum(1).mean();
      targetCosine = toTarget.item();
      let total: Tensor;
      if (config.objective === 'distill') {
        const teacher = targets.teacher!;
        const imageIndex = indexOf(images);
        const logits = teacher.embeddings.indexSelect(0, imageIndex).matmul(text.transpose(0, 1)).mul(teacher.scale); // [B, K]
        const soft = F.softmax(teacher.logits.indexSelect(0, imageIndex).indexSelect(1, classIndex).div(teacher.temperature), -1);
        total = soft.mul(F.logSoftmax(logits, -1)).sum(1).mean().neg();
        distillLoss = total.item();
      } else {
        total = toTarget.neg().add(1);
      }
      if (kept.length > 0) {
        const captions = F.normalize(model.encodeText(tokenize(tokenizer, kept.map((i) => targets.captions[i]!)).to(device)), -1);
        const toKept = captions.mul(targets.captionEmbeddings.indexSelect(0, indexOf(kept))).sum(1).mean();
        keptCosine = toKept.item();
        total = total.add(toKept.neg().add(1).mul(config.keepWeight));
      }
      return total;
    }, optimizer, config.gradClip);
    if (!Number.isFinite(loss)) throw new Error(`text-target tuning: the loss is ${loss} at step ${step}; lower the learning rate`);
    const record = { step: step + 1, loss, distillLoss, targetCosine, keptCosine, lr: optimizer.lr };
    history.push(record);
    onStep(record);
  }
  return history;
}

/** The distinct top classes (as many as fit in k), then random other classes up to k, in random order. */
function withTopClasses(rng: Rng, tops: number[], n: number, k: number): number[] {
  const chosen = new Set<number>();
  for (const c of tops) { if (chosen.size >= k) break; chosen.add(c); }
  for (const c of drawDistinct(rng, n, n)) { if (chosen.size >= k) break; chosen.add(c); }
  return shuffled([...chosen], rng);
}

/** k distinct indices below n, in random order (a partial Fisher-Yates shuffle). */
function drawDistinct(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + randomIndex(rng, n - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}
