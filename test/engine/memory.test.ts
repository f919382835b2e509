// Native memory: tidy() scopes release what they created, and a training loop
// keeps the process's resident memory flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, F, Linear, Module, keep, manualSeed, ones, randint, randn, scopeDepth, tensor, tidy, type Tensor } from '../../src/engine/index.js';

test('tidy disposes intermediates and keeps what it returns', () => {
  const input = ones([2]);
  let intermediate: Tensor | null = null;
  const out = tidy(() => {
    intermediate = input.mul(2);
    return intermediate.add(1);
  });
  assert.equal(intermediate!.disposed, true);
  assert.equal(out.disposed, false);
  assert.equal(input.disposed, false, 'tensors from outside are not touched');
  assert.deepEqual(out.toArray(), [3, 3]);
});

test('tidy keeps tensors inside returned arrays, plain objects and maps', () => {
  const made: Tensor[] = [];
  const make = (v: number): Tensor => {
    const t = tensor([v]);
    made.push(t);
    return t;
  };
  const result = tidy(() => {
    make(0);
    return { list: [make(1), make(2)], map: new Map([['a', make(3)]]), nested: { deep: make(4) }, count: 5 };
  });
  assert.equal(made[0]!.disposed, true);
  assert.ok(made.slice(1).every((t) => !t.disposed));
  assert.equal(result.count, 5);
  assert.equal(result.map.get('a')!.item(), 3);
});

test('a view returned from tidy outlives its disposed base', () => {
  const view = tidy(() => ones([2, 3]).mul(2).reshape([6]).slice(0, 1, 4));
  assert.deepEqual(view.toArray(), [2, 2, 2]);
});

test('nested tidy: the inner result belongs to the outer scope', () => {
  let inner: Tensor | null = null, innerTemp: Tensor | null = null;
  const outer = tidy(() => {
    inner = tidy(() => {
      innerTemp = ones([1]);
      return innerTemp.add(1);
    });
    assert.equal(innerTemp!.disposed, true);
    assert.equal(inner!.disposed, false);
    assert.equal(scopeDepth(), 1);
    return inner.mul(3);
  });
  assert.equal(inner!.disposed, true, 'not returned by the outer scope, so released there');
  assert.deepEqual(outer.toArray(), [6]);
  assert.equal(scopeDepth(), 0);
});

test('an exception inside tidy releases everything and propagates', () => {
  let made: Tensor | null = null;
  assert.throws(() => tidy(() => {
    made = ones([3]);
    tidy(() => {
      throw new Error('inner failure');
    });
    return made;
  }), /inner failure/);
  assert.equal(made!.disposed, true);
  assert.equal(scopeDepth(), 0, 'scopes are closed after an exception');
  assert.throws(() => tidy(() => zeroDiv()), /boom/);
  assert.equal(scopeDepth(), 0);
});
function zeroDiv(): never {
  ones([1]);
  throw new Error('boom');
}

test('keep() rescues a tensor; modules and optimisers created in tidy survive it', () => {
  let kept: Tensor | null = null;
  const { model, opt } = tidy(() => {
    kept = keep(ones([2]));
    ones([5]);
    const model = new Linear(3, 2);
    return { model, opt: new AdamW(model.parameters(), { lr: 0.1 }) };
  });
  assert.equal(kept!.disposed, false);
  assert.ok(model.parameters().every((p) => !p.disposed));
  tidy(() => {
    F.crossEntropy(model.forward(ones([4, 3])), randint(0, 2, [4])).backward();
    opt.step();
  });
  assert.ok(opt.stateDict().tensors.size === 4 && [...opt.stateDict().tensors.values()].every((t) => !t.disposed));
});

test('disposing the wrapper from .grad inside tidy leaves the parameter’s gradient alone', () => {
  const p = ones([2]);
  p.requiresGrad = true;
  p.mul(3).sum().backward();
  tidy(() => p.grad!.toArray());
  assert.deepEqual(p.grad!.toArray(), [3, 3]);
});

class Mlp extends Module {
  readonly fc1 = new Linear(64, 128);
  readonly fc2 = new Linear(128, 128);
  readonly head = new Linear(128, 10);
  forward(x: Tensor): Tensor {
    return this.head.forward(this.fc2.forward(this.fc1.forward(x).relu()).gelu()); // [B, 10]
  }
}

test('1000 training steps keep resident memory flat', (t) => {
  manualSeed(0);
  const model = new Mlp();
  const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.01 });
  const x = randn([64, 64]);
  const y = randint(0, 10, [64]);
  const losses: number[] = [];
  const rss: Record<number, number> = {};
  for (let step = 1; step <= 1000; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = F.crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 });
      l.backward();
      opt.step();
      return l.item();
    });
    losses.push(loss);
    if (step === 200 || step === 1000) rss[step] = process.memoryUsage().rss;
  }
  const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
  const growth = rss[1000]! - rss[200]!;
  t.diagnostic(`rss after step 200: ${mb(rss[200]!)} MB, after step 1000: ${mb(rss[1000]!)} MB, growth ${mb(growth)} MB`);
  t.diagnostic(`loss ${losses[0]!.toFixed(3)} -> ${losses[999]!.toFixed(3)}`);
  assert.ok(growth < 20 * 2 ** 20, `resident memory grew by ${mb(growth)} MB between steps 200 and 1000`);
  assert.ok(losses[999]! < losses[0]! * 0.5, 'the model trains (memorises one batch)');
});

test('tensors that are never disposed are freed by the garbage collector (the backstop)', async (t) => {
  const start = process.memoryUsage().rss;
  let peak = start;
  const steps = 400, bytesPerStep = 2 * 512 * 1024 * 4; // two 2 MB float32 tensors per step
  for (let i = 0; i < steps; i++) {
    ones([512, 1024]).add(1); // neither tensor is disposed or scoped
    peak = Math.max(peak, process.memoryUsage().rss);
    if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve)); // let finalizers run
  }
  const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
  t.diagnostic(`allocated ${mb(steps * bytesPerStep)} MB without dispose; peak resident growth ${mb(peak - start)} MB`);
  assert.ok(peak - start < (steps * bytesPerStep) / 3, `resident memory grew by ${mb(peak - start)} MB: finalizers did not free`);
});
