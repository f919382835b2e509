// The engine's side of `npm run bench:engine`: the same models, data sizes and
// loop as bench/reference/engine.py, timed the same way.
import { AdamW, F, manualSeed, ones, randint, randn, tidy, type Module, type Tensor } from '../src/engine/index.js';
import { MobileNetV2 } from './models/mobilenet.js';
import { Transformer } from './models/transformer.js';

export interface RunSettings {
  warmup: number;
  steps: number;
  batch: number;
  seq: number;
  vocab: number;
}

/** Seconds per timed step, and the loss after the last one (a sanity check that both sides train). */
export interface RunResult {
  step_seconds: number[];
  loss: number;
}

export type TrainingBench = 'cnn_contiguous' | 'cnn_channels_last' | 'transformer';

/** Times warm-up + timed Adam steps on fixed inputs; tidy releases each step's tensors. */
function timeTraining(model: Module & { forward(x: Tensor): Tensor }, inputs: Tensor, targets: Tensor,
  loss: (out: Tensor, targets: Tensor) => Tensor, settings: RunSettings): RunResult {
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0 }); // AdamW without decay is Adam
  const step = (): void => tidy(() => {
    optimizer.zeroGrad();
    loss(model.forward(inputs), targets).backward();
    optimizer.step();
  });
  for (let i = 0; i < settings.warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < settings.steps; i++) {
    const start = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const final = tidy(() => loss(model.forward(inputs), targets).item());
  optimizer.dispose();
  return { step_seconds: times, loss: final };
}

function trainCnn(settings: RunSettings, channelsLast: boolean): RunResult {
  manualSeed(0);
  const model = new MobileNetV2(10);
  let images = randn([settings.batch, 3, 32, 32]); // [B, 3, 32, 32]
  const labels = randint(0, 10, [settings.batch]); // [B]
  if (channelsLast) {
    model.toMemoryFormat('channels-last');
    const converted = images.contiguous('channels-last');
    images.dispose();
    images = converted;
  }
  const result = timeTraining(model, images, labels, (logits, y) => F.crossEntropy(logits, y), settings);
  for (const t of [images, labels]) t.dispose();
  model.dispose();
  return result;
}

function trainTransformer(settings: RunSettings): RunResult {
  manualSeed(0);
  const model = new Transformer(settings.vocab, settings.seq);
  const ids = randint(0, settings.vocab, [settings.batch, settings.seq]); // [B, T]
  const targets = randint(0, settings.vocab, [settings.batch * settings.seq]); // [B*T]
  const loss = (logits: Tensor, y: Tensor) => F.crossEntropy(logits.reshape([-1, settings.vocab]), y); // [B*T, V]
  const result = timeTraining(model, ids, targets, loss, settings);
  for (const t of [ids, targets]) t.dispose();
  model.dispose();
  return result;
}

export function runTraining(name: TrainingBench, settings: RunSettings): RunResult {
  if (name === 'transformer') return trainTransformer(settings);
  return trainCnn(settings, name === 'cnn_channels_last');
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
