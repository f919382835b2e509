// The step-phase timer of bench:train --phases and bench:train-overhead: it
// attributes a real HyperCLIP step's time to the parts that ran, adds the
// rest as "other" so the phases sum to the step, and puts every wrapped
// method back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW, Tensor, manualSeed, randint, randn, tidy } from '../../src/engine/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import type { TrainParts } from '../../src/train/trainer.js';
import { PHASES, StepPhaseTimer, type Phases } from '../../bench/lib/step-phases.js';

test('a HyperCLIP step is split into its phases, which sum to the step, and restore() undoes every wrapper', () => {
  manualSeed(0);
  const model = new HyperClip(resolveConfig('tiny-hyperclip')).train();
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const images = randn([16, 3, 64, 64]);
  const ids = randint(3, model.config.text.vocabSize, [16, model.config.text.contextLength]);
  const backward = Tensor.prototype.backward;
  const timer = new StepPhaseTimer(() => performance.now());
  timer.install({ model, objective: { optimizer } } as unknown as TrainParts);
  assert.notEqual(Tensor.prototype.backward, backward);

  const phases: Phases = new Map();
  const start = performance.now();
  timer.timed(phases, () => tidy(() => {
    optimizer.zeroGrad();
    model.trainingLoss(images, ids).backward();
    optimizer.step();
  }));
  const elapsed = performance.now() - start;
  for (const phase of ['text forward', 'hypernetwork forward', 'backward', 'optimizer'] as const) {
    assert.ok((phases.get(phase) ?? 0) > 0, `${phase} took no time`);
  }
  const total = PHASES.reduce((sum, p) => sum + (phases.get(p) ?? 0), 0);
  assert.ok(Math.abs(total - elapsed) < 1, `phases sum to ${total} ms, the step took ${elapsed} ms`);

  // Outside timed() nothing is recorded.
  const before = new Map(phases);
  tidy(() => model.trainingLoss(images, ids).backward());
  assert.deepEqual(phases, before);

  timer.restore();
  assert.equal(Tensor.prototype.backward, backward);
  assert.equal(Object.prototype.hasOwnProperty.call(model, 'encodeText'), false);
  assert.equal(Object.prototype.hasOwnProperty.call(optimizer, 'step'), false);
});
