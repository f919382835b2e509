// The pretrained ImageNet head as a teacher for the text side (and the
// hypernetwork): each step draws a task of K ImageNet class names (the
// batch's top teacher classes plus random others), turns them into prompts,
// and the classifier the model generates from those names must reproduce
// the teacher's class probabilities, restricted to the task, on the batch's
// unlabelled training images. That is the deployed path exactly: names ->
// text encoder -> (hypernetwork -> norms) -> image logits -> softmax.
// Held-out synsets never enter a task.
import { F, noGrad, tensor, type Device, type Tensor } from '../engine/index.js';
import { createRng, randomIndex, type Rng } from '../data/random.js';
import type { LabelSenses } from '../data/label-phrases.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import type { HyperClip, PrefixFeatures } from '../models/hyperclip.js';
import type { LabelClassifier } from '../models/label-classifier.js';
import { tokenize } from '../eval/text-features.js';
import type { HeadWarmStartConfig } from './head-warm-start.js';

export interface DistillConfig {
  /** A pretrained model folder (`hyperclip import`): its 1000-class head is the teacher. */
  teacher: string;
  /** Weight of this loss beside the contrastive one. */
  weight: number;
  /** Class names per generated task. */
  classesPerTask: number;
  /** Softening of the teacher's logits. */
  temperature: number;
  /**
   * The WordNet sense of each ImageNet class's hypernym phrases: from its
   * names ("by-name", the default, as every committed run) or its WNID
   * ("by-wnid"; src/data/label-phrases.ts).
   */
  senses?: LabelSenses;
  /** Before the first step, the same loss on cached features of a few thousand training images (src/train/head-warm-start.ts). */
  warmStart?: HeadWarmStartConfig;
}

export interface DistillTask {
  /** Per teacher class, the names a prompt may use (synonyms, WordNet phrases). */
  names: string[][];
  /** Teacher classes that may enter a task (held-out synsets removed). */
  allowed: number[];
  templates: string[];
}

export class HeadDistillation {
  private readonly rng: Rng;
  private readonly allowedMask: Float32Array;

  constructor(readonly teacher: LabelClassifier, readonly task: DistillTask, readonly config: DistillConfig, private readonly tokenizer: Tokenizer, seed: number) {
    if (task.allowed.length < config.classesPerTask) {
      throw new Error(`distill: ${config.classesPerTask} classes per task but only ${task.allowed.length} teacher classes are allowed`);
    }
    this.rng = createRng(seed ^ 0x7f4a7c15);
    this.allowedMask = new Float32Array(teacher.classes).fill(-Infinity);
    for (const c of task.allowed) this.allowedMask[c] = 0;
    teacher.eval();
  }

  /**
   * The soft cross-entropy between teacher and generated classifier over one
   * task. `images` share the model's frozen prefix with the teacher's encoder
   * (checked when the run starts), so the teacher only runs the suffix.
   */
  loss(model: HyperClip, images: PrefixFeatures): Tensor {
    const task = this.drawTaskFor(this.teacherLogits(images));
    const text = this.generatedClasses(model, task.prompts, images.prefix.device); // [K, E]
    const norms = model.hypernet === null ? undefined : model.generateNormParams(text.unsqueeze(0)); // [1, C] per layer
    return this.softCrossEntropy(model, F.normalize(model.encodeImage(images, norms), -1), text, task.targets);
  }

  /**
   * The same loss on the image encoder's pooled features (the projection's
   * input), computed without generated norms: what the model generates at
   * step 0, when the hypernetwork's head is still zero (src/train/head-warm-start.ts).
   */
  lossOnFeatures(model: HyperClip, features: Tensor, teacherLogits: Tensor): Tensor {
    const task = this.drawTaskFor(teacherLogits);
    const text = this.generatedClasses(model, task.prompts, features.device);
    return this.softCrossEntropy(model, F.normalize(model.imageProjection.forward(features), -1), text, task.targets);
  }

  /** The teacher's logits over its 1000 classes [B, 1000], continuing from the model's frozen prefix. */
  teacherLogits(images: PrefixFeatures): Tensor {
    return noGrad(() => this.teacher.head.forward(this.teacher.imageEncoder.forwardFrom(images.prefix, images.block)));
  }

  /** One task: its classes' prompts and the teacher's probabilities restricted to them [B, K]. */
  private drawTaskFor(teacherLogits: Tensor): { prompts: string[]; targets: Tensor } {
    const classes = this.drawTask(teacherLogits);
    const index = tensor(BigInt64Array.from(classes, BigInt), [classes.length], { dtype: 'int64' }).to(teacherLogits.device);
    const targets = noGrad(() => F.softmax(teacherLogits.indexSelect(1, index).div(this.config.temperature), -1)); // [B, K]
    const prompts = classes.map((c) => {
      const names = this.task.names[c]!;
      return this.task.templates[randomIndex(this.rng, this.task.templates.length)]!.replaceAll('{}', names[randomIndex(this.rng, names.length)]!);
    });
    return { prompts, targets };
  }

  /** The task's class embeddings [K, E], normalised, as deployment generates them from names. */
  private generatedClasses(model: HyperClip, prompts: string[], device: Device): Tensor {
    return F.normalize(model.encodeText(tokenize(this.tokenizer, prompts).to(device)), -1);
  }

  private softCrossEntropy(model: HyperClip, image: Tensor, text: Tensor, targets: Tensor): Tensor {
    const logits = image.matmul(text.transpose(0, 1)).mul(model.logitScale.exp()); // [B, K]
    return targets.mul(F.logSoftmax(logits, -1)).sum(1).mean().neg();
  }

  /** The teacher's top allowed class of every image, then random allowed classes up to K, in random order. */
  private drawTask(teacherLogits: Tensor): number[] {
    const masked = noGrad(() => teacherLogits.add(tensor(this.allowedMask, [1, this.allowedMask.length]).to(teacherLogits.device)));
    const top = masked.argmax(1).toArray() as ArrayLike<number | bigint>;
    const chosen = new Set<number>();
    for (let i = 0; i < top.length && chosen.size < this.config.classesPerTask; i++) chosen.add(Number(top[i]));
    while (chosen.size < this.config.classesPerTask) chosen.add(this.task.allowed[randomIndex(this.rng, this.task.allowed.length)]!);
    const out = [...chosen];
    for (let i = out.length - 1; i > 0; i--) {
      const j = randomIndex(this.rng, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** The ImageNet names of every teacher class and the classes a task may draw (held-out synsets removed). */
export function imagenetDistillTask(names: { wnids: string[]; synonyms: string[][] }, phrases: string[][], heldOutWnids: readonly string[], templates: string[]): DistillTask {
  const heldOut = new Set(heldOutWnids);
  const allowed = names.wnids.map((_, i) => i).filter((i) => !heldOut.has(names.wnids[i]!));
  return { names: phrases, allowed, templates };
}
