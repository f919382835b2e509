// The engine's side of `npm run bench:engine`: the same models, data sizes and
// loop as bench/reference/engine.py, timed the same way.
import { AdamW, F, manualSeed, noGrad, ones, randint, randn, tidy, type Module, type Tensor } from '../src/engine/index.js';
import { MobileNetV2 } from './models/mobilenet.js';
import { Transformer } from './models/transformer.js';

export interface RunSettings {
  batch: number;
  seq: number;
  vocab: number;
}

export type TrainingBench = 'cnn_contiguous' | 'cnn_channels_last' | 'transformer';

type Model = Module & { forward(x: Tensor): Tensor };

/** What bench/engine.ts times: a model kept built between alternating rounds. */
export interface BenchSession {
  step(): void;
  /** Seconds per step for `steps` more steps. */
  time(steps: number): number[];
  /** The loss on the batch now (a sanity check that the model runs), then releases everything. */
  close(): number;
}

/** Seconds of each of `steps` calls of `step`. */
export function timeSteps(step: () => void, steps: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return times;
}

/** A model, its fixed batch and its Adam optimiser, kept between timed rounds. */
export class TrainingSession implements BenchSession {
  private readonly model: Model;
  private readonly inputs: Tensor;
  private readonly targets: Tensor;
  private readonly lossOf: (out: Tensor) => Tensor;
  private readonly optimizer: AdamW;

  constructor(name: TrainingBench, settings: RunSettings) {
    manualSeed(0);
    const { batch, seq, vocab } = settings;
    if (name === 'transformer') {
      this.model = new Transformer(vocab, seq);
      this.inputs = randint(0, vocab, [batch, seq]); // [B, T]
      this.targets = randint(0, vocab, [batch * seq]); // [B*T]
      this.lossOf = (logits) => F.crossEntropy(logits.reshape([-1, vocab]), this.targets); // logits [B, T, V]
    } else {
      this.model = new MobileNetV2(10);
      const images = randn([batch, 3, 32, 32]); // [B, 3, 32, 32]
      this.targets = randint(0, 10, [batch]); // [B]
      this.lossOf = (logits) => F.crossEntropy(logits, this.targets);
      if (name === 'cnn_channels_last') {
        this.model.toMemoryFormat('channels-last');
        this.inputs = images.contiguous('channels-last');
        images.dispose();
      } else {
        this.inputs = images;
      }
    }
    this.optimizer = new AdamW(this.model.parameters(), { lr: 1e-3, weightDecay: 0 }); // AdamW without decay is Adam
  }

  step(): void {
    tidy(() => {
      this.optimizer.zeroGrad();
      this.lossOf(this.model.forward(this.inputs)).backward();
      this.optimizer.step();
    });
  }

  time(steps: number): number[] {
    return timeSteps(() => this.step(), steps);
  }

  close(): number {
    const loss = noGrad(() => tidy(() => this.lossOf(this.model.forward(this.inputs)).item()));
    this.optimizer.dispose();
    this.model.dispose();
    this.inputs.dispose();
    this.targets.dispose();
    return loss;
  }
}

/** Microseconds per `c = a + b; dispose c` on 1-element tensors: the engine's cost of one small op. */
export function dispatchMicroseconds(iterations: number): number {
  const a = ones([1]);
  const b = ones([1]);
  for (let i = 0; i < 1000; i++) a.add(b).dispose();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) a.add(b).dispose();
  const us = Number(process.hrtime.bigint() - start) / 1e3 / iterations;
  a.dispose();
  b.dispose();
  return us;
}
