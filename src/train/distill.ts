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
import { drawNodeTask, type DistillNodes } from './distill-nodes.js';

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
   * The fixed scale of the generated classifier's cosine logits in this loss.
   * Absent: the model's own learned scale, which the contrastive loss shares
   * (SigLIP holds it near 14). Deployment is unchanged: a class's rank does
   * not depend on the scale. A fixed 70 on W4's recipe lost to the learned
   * scale (docs/pretrained.md, "Text side or image side?").
   */
  logitScale?: number;
  /**
   * The WordNet sense of each ImageNet class's hypernym phrases: from its
   * names ("by-name", the default, as every committed run) or its WNID
   * ("by-wnid"; src/data/label-phrases.ts).
   */
  senses?: LabelSenses;
  /** Before the first step, the same loss on cached features of a few thousand training images (src/train/head-warm-start.ts). */
  warmStart?: HeadWarmStartConfig;
  /**
   * The share of tasks (0 to 1) that mix WordNet nodes above ImageNet's
   * classes ("dog", "vehicle") with classes, each scored by the teacher's mass
   * under it (src/train/distill-nodes.ts). Absent or 0: ImageNet's classes only.
   */
  nodeTasks?: number;
}

export interface DistillTask {
  /** Per teacher class, the names a prompt may use (synonyms, WordNet phrases). */
  names: string[][];
  /** Teacher classes that may enter a task (held-out synsets removed). */
  allowed: number[];
  templates: string[];
  /** WordNet nodes above the allowed classes, for config.nodeTasks. */
  nodes?: DistillNodes;
}

export class HeadDistillation {
  private readonly rng: Rng;
  private drawn = 0;
  private readonly allowedMask: Float32Array;

  constructor(readonly teacher: LabelClassifier, readonly task: DistillTask, readonly config: DistillConfig, private readonly tokenizer: Tokenizer, seed: number) {
    if ((config.nodeTasks ?? 0) > 0 && task.nodes === undefined) throw new Error('distill.nodeTasks needs the WordNet nodes above the teacher\'s classes (imagenetDistillTask with nodes)');
    if (task.allowed.length < config.classesPerTask) {
      throw new Error(`distill: ${config.classesPerTask} classes per task but only ${task.allowed.length} teacher classes are allowed`);
    }
    const rng = createRng(seed ^ 0x7f4a7c15);
    this.rng = () => { this.drawn++; return rng(); };
    this.allowedMask = new Float32Array(teacher.classes).fill(-Infinity);
    for (const c of task.allowed) this.allowedMask[c] = 0;
    teacher.eval();
  }

  /** Random numbers the task draws have taken so far: a resumed run draws up to as many (skipDraws) to go on with the same tasks. */
  get draws(): number {
    return this.drawn;
  }

  /** Draws and discards until `n` numbers have been taken in all. */
  skipDraws(n: number): void {
    while (this.drawn < n) this.rng();
  }

  /**
   * The soft cross-entropy between teacher and generated classifier over one
   * task. `images` share the model's frozen prefix with the teacher's encoder
   * (checked when the run starts), so the teacher only runs the suffix.
   */
  loss(model: HyperClip, images: PrefixFeatures): Tensor {
    return this.taskLoss(model, images, this.drawTaskFor(this.teacherLogits(images)));
  }

  /**
   * The loss over a task already drawn (drawTaskFor): what SAM's second pass
   * at perturbed weights reuses, so that both passes see one task
   * (src/compress/compress-loss.ts).
   */
  taskLoss(model: HyperClip, images: PrefixFeatures, task: { prompts: string[]; targets: Tensor }): Tensor {
    return this.taskLossFromText(model, images, this.classEmbeddings(model, task.prompts, images.prefix.device), task.targets);
  }

  /** taskLoss from the task's class embeddings (classEmbeddings), already computed: a frozen text encoder gives them once for several passes. */
  taskLossFromText(model: HyperClip, images: PrefixFeatures, text: Tensor, targets: Tensor): Tensor {
    const norms = model.hypernet === null ? undefined : model.generateNormParams(text.unsqueeze(0)); // [1, C] per layer
    return this.softCrossEntropy(model, F.normalize(model.encodeImage(images, norms), -1), text, targets);
  }

  /**
   * The same loss on the image encoder's pooled features (the projection's
   * input), computed without generated norms: what the model generates at
   * step 0, when the hypernetwork's head is still zero (src/train/head-warm-start.ts).
   */
  lossOnFeatures(model: HyperClip, features: Tensor, teacherLogits: Tensor): Tensor {
    const task = this.drawTaskFor(teacherLogits);
    const text = this.classEmbeddings(model, task.prompts, features.device);
    return this.softCrossEntropy(model, F.normalize(model.imageProjection.forward(features), -1), text, task.targets);
  }

  /** The teacher's logits over its 1000 classes [B, 1000], continuing from the model's frozen prefix. */
  teacherLogits(images: PrefixFeatures): Tensor {
    return noGrad(() => this.teacher.head.forward(this.teacher.imageEncoder.forwardFrom(images.prefix, images.block)));
  }

  /** One task: its classes' prompts and the teacher's probabilities restricted to them [B, K]. */
  drawTaskFor(teacherLogits: Tensor): { prompts: string[]; targets: Tensor } {
    const nodeShare = this.config.nodeTasks ?? 0;
    // No draw when node tasks are off: the runs recorded before them keep their random stream.
    if (nodeShare > 0 && this.rng() < nodeShare) return this.drawNodeTaskFor(teacherLogits);
    const classes = this.drawTask(teacherLogits);
    const index = tensor(BigInt64Array.from(classes, BigInt), [classes.length], { dtype: 'int64' }).to(teacherLogits.device);
    const targets = noGrad(() => F.softmax(teacherLogits.indexSelect(1, index).div(this.config.temperature), -1)); // [B, K]
    const prompts = classes.map((c) => this.prompt(this.task.names[c]!));
    return { prompts, targets };
  }

  /**
   * A task of WordNet nodes and classes with disjoint ImageNet classes: each
   * entry's target is the teacher's probability mass under it, renormalised
   * over the task (a softmax over the union of their classes, summed per entry).
   */
  private drawNodeTaskFor(teacherLogits: Tensor): { prompts: string[]; targets: Tensor } {
    const nodes = this.task.nodes!;
    const entries = drawNodeTask(this.rng, nodes, this.task.allowed, this.topAllowed(teacherLogits), this.config.classesPerTask);
    const members = entries.map((e) => (e.kind === 'class' ? [e.index] : nodes.members[e.index]!));
    const union = members.flat();
    const membership = new Float32Array(union.length * entries.length); // [|U|, K], one 1 per row
    let row = 0;
    members.forEach((classes, j) => { for (let i = 0; i < classes.length; i++) membership[(row++) * entries.length + j] = 1; });
    const device = teacherLogits.device;
    const index = tensor(BigInt64Array.from(union, BigInt), [union.length], { dtype: 'int64' }).to(device);
    const targets = noGrad(() => F.softmax(teacherLogits.indexSelect(1, index).div(this.config.temperature), -1)
      .matmul(tensor(membership, [union.length, entries.length]).to(device))); // [B, K]
    const prompts = entries.map((e) => this.prompt(e.kind === 'class' ? this.task.names[e.index]! : nodes.names[e.index]!));
    return { prompts, targets };
  }

  private prompt(names: readonly string[]): string {
    return this.task.templates[randomIndex(this.rng, this.task.templates.length)]!.replaceAll('{}', names[randomIndex(this.rng, names.length)]!);
  }

  /** The task's class embeddings [K, E], normalised, as deployment generates them from names. */
  classEmbeddings(model: HyperClip, prompts: string[], device: Device): Tensor {
    return F.normalize(model.encodeText(tokenize(this.tokenizer, prompts).to(device)), -1);
  }

  private softCrossEntropy(model: HyperClip, image: Tensor, text: Tensor, targets: Tensor): Tensor {
    const scale = this.config.logitScale === undefined ? model.logitScale.exp() : this.config.logitScale;
    const logits = image.matmul(text.transpose(0, 1)).mul(scale); // [B, K]
    return targets.mul(F.logSoftmax(logits, -1)).sum(1).mean().neg();
  }

  /** The teacher's top allowed class of every image, then random allowed classes up to K, in random order. */
  private drawTask(teacherLogits: Tensor): number[] {
    const chosen = new Set<number>();
    for (const top of this.topAllowed(teacherLogits)) {
      if (chosen.size >= this.config.classesPerTask) break;
      chosen.add(top);
    }
    while (chosen.size < this.config.classesPerTask) chosen.add(this.task.allowed[randomIndex(this.rng, this.task.allowed.length)]!);
    const out = [...chosen];
    for (let i = out.length - 1; i > 0; i--) {
      const j = randomIndex(this.rng, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** Each image's top allowed teacher class. */
  private topAllowed(teacherLogits: Tensor): number[] {
    const masked = noGrad(() => teacherLogits.add(tensor(this.allowedMask, [1, this.allowedMask.length]).to(teacherLogits.device)));
    return Array.from(masked.argmax(1).toArray() as ArrayLike<number | bigint>, Number);
  }
}

/** The ImageNet names of every teacher class and the classes a task may draw (held-out synsets removed). */
export function imagenetDistillTask(names: { wnids: string[]; synonyms: string[][] }, phrases: string[][], heldOutWnids: readonly string[], templates: string[]): DistillTask {
  return { names: phrases, allowed: allowedClasses(names.wnids, heldOutWnids), templates };
}

/** Teacher classes a task may draw: all but the held-out synsets. */
export function allowedClasses(wnids: readonly string[], heldOutWnids: readonly string[]): number[] {
  const heldOut = new Set(heldOutWnids);
  return wnids.map((_, i) => i).filter((i) => !heldOut.has(wnids[i]!));
}
