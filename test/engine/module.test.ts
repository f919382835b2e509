// Module: parameter discovery and naming, train/eval, state dicts, dtype moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, Conv2d, Dropout, Embedding, LayerNorm, Linear, Module, ones, tensor, type Tensor } from '../../src/engine/index.js';
import { assertClose } from './helpers.js';

class Block extends Module {
  readonly norm: LayerNorm;
  readonly fc: Linear;
  constructor(width: number) {
    super();
    this.norm = new LayerNorm(width);
    this.fc = new Linear(width, width, false);
  }
}

class Net extends Module {
  readonly scale: Tensor;
  readonly embed: Embedding;
  readonly blocks: Block[];
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly drop: Dropout;
  readonly head: Linear;
  readonly notAModule = [1, 2, 3];
  constructor() {
    super();
    this.scale = this.parameter(ones([1]));
    this.embed = new Embedding(5, 4);
    this.blocks = [new Block(4), new Block(4)];
    this.conv = new Conv2d(3, 2, 3, { bias: true });
    this.bn = new BatchNorm2d(2);
    this.drop = new Dropout(0.1);
    this.head = new Linear(4, 3);
  }
}

test('namedParameters: own first, then children in field order, arrays as field.i', () => {
  const names = [...new Net().namedParameters()].map(([n]) => n);
  assert.deepEqual(names, [
    'scale', 'embed.weight', 'blocks.0.norm.weight', 'blocks.0.norm.bias', 'blocks.0.fc.weight', 'blocks.1.norm.weight',
    'blocks.1.norm.bias', 'blocks.1.fc.weight', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'head.weight', 'head.bias',
  ]);
  const net = new Net();
  assert.deepEqual([...net.namedBuffers()].map(([n]) => n), ['bn.runningMean', 'bn.runningVar']);
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.role === 'parameter'));
  assert.equal(net.parameterCount(), 1 + 20 + 2 * (4 + 4 + 16) + (54 + 2) + 4 + (12 + 3));
  assert.deepEqual([...net.namedModules()].map(([n]) => n), [
    '', 'embed', 'blocks.0', 'blocks.0.norm', 'blocks.0.fc', 'blocks.1', 'blocks.1.norm', 'blocks.1.fc', 'conv', 'bn', 'drop', 'head',
  ]);
});

test('layers have the right shapes and PyTorch-style default initialisation', () => {
  const fc = new Linear(100, 50);
  assert.deepEqual(fc.weight.shape, [50, 100]);
  const bound = 1 / Math.sqrt(100);
  assert.ok(fc.weight.abs().amax().item() <= bound && fc.weight.abs().amax().item() > bound * 0.9);
  assert.ok(fc.bias!.abs().amax().item() <= bound);
  const conv = new Conv2d(4, 8, 3, { groups: 2 });
  assert.deepEqual(conv.weight.shape, [8, 2, 3, 3]);
  assert.equal(conv.bias, null);
  assert.equal(conv.padding, 1);
  assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), /not divisible by groups 2/);
  assert.throws(() => new Dropout(1), /p must be in \[0, 1\)/);
  assertClose(new LayerNorm(3).weight.toArray(), [1, 1, 1], 0);
});

test('train() and eval() switch every submodule', () => {
  const net = new Net();
  assert.ok([...net.namedModules()].every(([, m]) => m.training));
  net.eval();
  assert.ok([...net.namedModules()].every(([, m]) => !m.training));
  assert.equal(net.blocks[1]!.fc.training, false);
  net.train();
  assert.ok([...net.namedModules()].every(([, m]) => m.training));
  const x = ones([1, 1000]);
  net.drop.eval();
  assert.deepEqual(net.drop.forward(x).toArray(), x.toArray());
  net.drop.train();
  assert.ok(net.drop.forward(x).toArray().some((v) => v === 0));
});

test('stateDict holds parameters and buffers by name; loadStateDict copies values', () => {
  const a = new Net(), b = new Net();
  const state = a.stateDict();
  assert.equal(state.size, 16);
  assert.equal(state.get('head.weight'), a.head.weight, 'the module’s own tensors, not copies');
  a.bn.runningMean.fill_(0.5);
  b.loadStateDict(a.stateDict());
  for (const [name, t] of b.stateDict()) assert.deepEqual(t.toArray(), state.get(name)!.toArray(), name);
  assert.notEqual(b.head.weight, a.head.weight);
  assert.equal(b.head.weight.requiresGrad, true, 'loading keeps parameters trainable');
  const x = tensor([[1, 2, 3, 4]]);
  assert.deepEqual(b.head.forward(x).toArray(), a.head.forward(x).toArray());
});

test('loadStateDict lists missing, unexpected and mis-shaped entries', () => {
  const net = new Net();
  const state = new Map(net.stateDict());
  state.delete('head.bias');
  state.set('extra.weight', ones([2]));
  state.set('conv.bias', ones([3]));
  assert.throws(() => net.loadStateDict(state), (err: Error) => {
    assert.match(err.message, /state dict does not match the model/);
    assert.match(err.message, /missing head\.bias/);
    assert.match(err.message, /unexpected extra\.weight/);
    assert.match(err.message, /conv\.bias has shape \[3\] in the file but \[2\] in the model/);
    return true;
  });
  // Non-strict loading ignores missing and unexpected names but never a wrong shape.
  state.set('conv.bias', ones([2]));
  net.loadStateDict(state, false);
  assertClose(net.conv.bias!.toArray(), [1, 1], 0);
  state.set('conv.bias', ones([3]));
  assert.throws(() => net.loadStateDict(state, false), /conv\.bias has shape/);
});

test('loadStateDict converts dtypes; Module.to(dtype) keeps parameters trainable leaves', () => {
  const fc = new Linear(2, 2);
  const state = new Map([...fc.stateDict()].map(([k, v]) => [k, v.to('float64')]));
  const other = new Linear(2, 2);
  other.loadStateDict(state);
  assert.equal(other.weight.dtype, 'float32');
  assert.deepEqual(other.weight.toArray(), fc.weight.toArray());
  const weight = fc.weight;
  fc.to('float64');
  assert.equal(fc.weight, weight, 'same tensor object, new data');
  assert.equal(fc.weight.dtype, 'float64');
  fc.forward(tensor([[1, 2]], undefined, { dtype: 'float64' })).sum().backward();
  assertClose(fc.weight.grad!.toArray(), [1, 2, 1, 2], 0);
  fc.to('cpu');
  assert.equal(fc.weight.device, 'cpu');
});

test('Module.dispose releases every parameter and buffer', () => {
  const bn = new BatchNorm2d(3);
  bn.dispose();
  assert.ok([...bn.stateDict().values()].every((t) => t.disposed));
  assert.throws(() => bn.forward(ones([2, 3, 1, 1])), /used after dispose/);
});
