// Unit class vectors fitted to a teacher in a model's image-embedding space:
// on fixed (cached) normalised image embeddings, vectors whose scaled cosine
// softmax over the classes matches the teacher's softened class
// probabilities. No label is read. They are what a text side could reach
// with this image side in the model's cosine form: npm run
// experiment:text-gap scores them, npm run experiment:text-targets trains
// the text encoder towards them.
import { AdamW, F, keep, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';

export interface ClassVectorFitOptions {
  /** Softening of the teacher's logits. */
  temperature: number;
  /** The cosine logits' scale: fixed, or where a fitted scale starts. */
  scale: number;
  /** Fit the scale beside the vectors. */
  learnScale: boolean;
  /** Full-batch Adam steps. */
  steps: number;
  lr?: number;
}

export interface ClassVectorFit {
  /** [K, E], unit rows. */
  vectors: Tensor;
  /** The scale at the end (the fixed one unless learnScale). */
  scale: number;
  initialLoss: number;
  loss: number;
}

/**
 * embeddings [N, E] (normalised), teacherLogits [N, K], init [K, E] (the
 * start, e.g. the model's own class embeddings) -> the fitted unit vectors.
 * The inputs are not changed; the caller disposes `vectors`.
 */
export function fitClassVectors(embeddings: Tensor, teacherLogits: Tensor, init: Tensor, options: ClassVectorFitOptions): ClassVectorFit {
  if (embeddings.ndim !== 2 || teacherLogits.ndim !== 2 || embeddings.size(0) !== teacherLogits.size(0)) {
    throw new Error(`fitClassVectors: embeddings [${embeddings.shape}] and teacher logits [${teacherLogits.shape}] must be [N, E] and [N, K]`);
  }
  if (init.ndim !== 2 || init.size(0) !== teacherLogits.size(1) || init.size(1) !== embeddings.size(1)) {
    throw new Error(`fitClassVectors: the start [${init.shape}] must be [${teacherLogits.size(1)}, ${embeddings.size(1)}] (classes, embedding width)`);
  }
  if (!(options.temperature > 0) || !(options.scale > 0) || !Number.isInteger(options.steps) || options.steps < 1) {
    throw new Error(`fitClassVectors: temperature and scale must be positive and steps a positive integer, got ${JSON.stringify(options)}`);
  }
  const vectors = keep(noGrad(() => init.clone()));
  vectors.requiresGrad = true;
  const logScale = keep(tensor(new Float32Array([Math.log(options.scale)]), []));
  logScale.requiresGrad = options.learnScale;
  const optimizer = new AdamW(options.learnScale ? [vectors, logScale] : [vectors], { lr: options.lr ?? 0.01, weightDecay: 0 });
  const targets = keep(noGrad(() => F.softmax(teacherLogits.div(options.temperature), -1)));
  let loss = NaN, initialLoss = NaN;
  try {
    for (let step = 0; step < options.steps; step++) {
      optimizer.zeroGrad();
      loss = tidy(() => {
        const logits = embeddings.matmul(F.normalize(vectors, -1).transpose(0, 1)).mul(logScale.exp()); // [N, K]
        const l = targets.mul(F.logSoftmax(logits, -1)).sum(1).mean().neg();
        l.backward();
        return l.item();
      });
      if (!Number.isFinite(loss)) throw new Error(`fitClassVectors: the loss is ${loss} at step ${step}; lower the learning rate`);
      if (step === 0) initialLoss = loss;
      optimizer.step();
    }
    return { vectors: keep(noGrad(() => F.normalize(vectors, -1))), scale: noGrad(() => logScale.exp().item()), initialLoss, loss };
  } finally {
    for (const t of [vectors, logScale, targets]) t.dispose();
  }
}
