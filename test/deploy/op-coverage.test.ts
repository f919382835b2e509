// Every engine op the exporter converts, each in a small traced function run
// by onnxruntime-node against the engine, at the traced batch (2) and at 3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, full, manualSeed, noGrad, rand, randint, randn, tensor, tidy, type Tensor, type UnaryOp } from '../../src/engine/index.js';
import { exportOnnx } from '../../src/deploy/onnx/writer.js';
import { CHECKER_SKIP, feedOf, onnxCheckerAvailable, onnxCheckerErrors, runOnnx } from './helpers.js';

type Inputs = Record<string, Tensor>;

interface Case {
  name: string;
  /** Example inputs at a batch size; axis 0 of each is the batch unless fixed is set. */
  inputs: (batch: number) => Inputs;
  fn: (x: Inputs) => Tensor | Tensor[];
  /** Inputs with no batch axis. */
  fixed?: boolean;
  tol?: number;
}

const positive = (shape: number[]) => rand(shape).add(0.2);
const x4 = (b: number): Inputs => ({ x: randn([b, 3, 6, 6]) });
const x3 = (b: number): Inputs => ({ x: randn([b, 4, 5]) });

const UNARY_DOMAIN: Partial<Record<UnaryOp, (shape: number[]) => Tensor>> = {
  log: positive, sqrt: positive, rsqrt: positive, reciprocal: positive, log1p: positive,
};
const UNARY_OPS: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sin', 'cos', 'relu', 'relu6', 'silu', 'gelu', 'geluTanh',
  'sigmoid', 'tanh', 'hardswish', 'hardsigmoid', 'softplus', 'logSigmoid', 'sign', 'floor', 'round', 'reciprocal', 'logicalNot', 'erf',
  'square', 'ceil', 'log1p', 'expm1'];

const CASES: Case[] = [
  ...UNARY_OPS.map((op): Case => ({
    name: `unary ${op}`,
    inputs: (b) => ({ x: (UNARY_DOMAIN[op] ?? ((s: number[]) => randn(s).mul(4)))([b, 7]) }),
    fn: ({ x }) => x!.unary(op),
  })),
  { name: 'arithmetic with tensors and numbers', inputs: (b) => ({ x: randn([b, 4]), y: positive([b, 4]) }),
    fn: ({ x, y }) => [x!.add(y!).sub(1.5).mul(y!).div(y!.add(1)), y!.pow(x!), y!.pow(2.5), x!.maximum(y!), x!.minimum(0.25), x!.div(3)] },
  { name: 'broadcasting against a parameter-like row', inputs: (b) => ({ x: randn([b, 4]) }),
    fn: ({ x }) => x!.mul(tensor([[1, 2, 3, 4]])).add(tensor([0.5, -0.5, 1, 2])) },
  { name: 'comparisons and logic', inputs: (b) => ({ x: randn([b, 6]), y: randn([b, 6]) }),
    fn: ({ x, y }) => [x!.eq(y!), x!.ne(0), x!.lt(y!), x!.le(0.1), x!.gt(y!), x!.ge(-0.2), x!.gt(0).binary('logicalAnd', y!.gt(0)), x!.gt(0).binary('logicalOr', y!.gt(0))] },
  { name: 'remainder of floats and integers', inputs: (b) => ({ x: randn([b, 6]).mul(5), i: randint(-9, 9, [b, 6]) }),
    fn: ({ x, i }) => [x!.binary('remainder', 1.5), i!.binary('remainder', full([1], 4, { dtype: 'int64' }))] },
  { name: 'where, maskedFill, clamp', inputs: (b) => ({ x: randn([b, 5]) }),
    fn: ({ x }) => [F.where(x!.gt(0), x!, 0.1), F.where(x!.lt(0), -1, x!.mul(2)), x!.maskedFill(x!.gt(0.5), 7), x!.clamp(-0.3), x!.clamp(-0.5, 0.5)] },
  { name: 'casts', inputs: (b) => ({ x: randn([b, 5]).mul(3) }),
    fn: ({ x }) => [x!.to('int64'), x!.gt(0).to('float32'), x!.to('int32').to('float32').mul(x!)] },
  { name: 'sum, mean, amax, amin, prod, logsumexp', inputs: x3,
    fn: ({ x }) => [x!.sum(), x!.sum([1, 2]), x!.mean(-1, true), x!.amax(1), x!.amin([1, 2], true), x!.reduce('prod', 2), x!.logsumexp(-1)] },
  { name: 'all and any', inputs: x3, fn: ({ x }) => [x!.gt(-1).reduce('all', 2), x!.gt(1).reduce('any', 1, true), x!.gt(0).reduce('any')] },
  { name: 'argmax, argmin, topk', inputs: x3,
    fn: ({ x }) => [x!.argmax(-1), x!.argmin(1, true), ...x!.topk(3, -1), ...x!.topk(2, 1, false)] },
  { name: 'argmax over everything', inputs: () => ({ x: randn([3, 5]) }), fixed: true, fn: ({ x }) => x!.argmax() },
  { name: 'norms, var, std, cumsum', inputs: x3,
    fn: ({ x }) => [x!.norm(2, -1), x!.norm(1, [1, 2], true), x!.norm(Infinity, 1), x!.var(-1), x!.std([1, 2], false, true), x!.cumsum(1)] },
  { name: 'normalize', inputs: x3, fn: ({ x }) => F.normalize(x!, -1) },
  { name: 'reshape, flatten, permute, transpose', inputs: x4,
    fn: ({ x }) => [x!.reshape([x!.size(0), 3, 36]), x!.flatten(1), x!.permute([0, 2, 3, 1]), x!.transpose(1, 3), x!.reshape([x!.size(0) * 3, 6, 6]).sum(-1)] },
  { name: 'slices and flips', inputs: x4,
    fn: ({ x }) => [x!.slice(1, 1, 3), x!.slice(3, 0, 6, 2), x!.slice(2, -3, 100), x!.narrow(0, 0, 1), x!.flip([1, 3])] },
  { name: 'indexSelect and gather', inputs: (b) => ({ x: randn([b, 5, 4]), i: randint(0, 5, [b, 2, 4]) }),
    fn: ({ x, i }) => [x!.indexSelect(1, tensor([4, 0, 2], [3], { dtype: 'int64' })), x!.gather(1, i!)] },
  { name: 'expand, squeeze, unsqueeze, repeat', inputs: (b) => ({ x: randn([b, 1, 4]) }),
    fn: ({ x }) => [x!.expand([x!.size(0), 3, 4]), x!.squeeze(), x!.squeeze(1), x!.unsqueeze(-1), x!.repeat([1, 2, 3]), x!.repeat([2, 1, 1, 2]).sum(0)] },
  { name: 'tril, triu', inputs: (b) => ({ x: randn([b, 4, 4]) }), fn: ({ x }) => [x!.tril(), x!.triu(1), x!.tril(-1)] },
  { name: 'cat and stack', inputs: (b) => ({ x: randn([b, 2, 3]), y: randn([b, 2, 3]) }),
    fn: ({ x, y }) => [F.cat([x!, y!], 1), F.cat([x!, y!], -1), F.stack([x!, y!], 1), F.stack([x!, y!], -1), F.cat([x!, y!], 0)] },
  { name: 'matmul, bmm, linear (2-D, 3-D, no bias)', inputs: (b) => ({ x: randn([b, 3, 4]), y: randn([b, 4, 2]) }),
    fn: ({ x, y }) => [x!.matmul(y!), F.bmm(x!, y!), F.linear(x!, randn([5, 4]), randn([5])), F.linear(x!.flatten(1), randn([2, 12]), randn([2])), F.linear(x!, randn([3, 4]))] },
  { name: 'embedding', inputs: (b) => ({ i: randint(0, 9, [b, 3]) }), fn: ({ i }) => F.embedding(randn([9, 4]), i!) },
  { name: 'softmax, logSoftmax', inputs: x3, fn: ({ x }) => [F.softmax(x!, 1), F.logSoftmax(x!, -1)] },
  { name: 'conv2d with padding, stride, dilation, bias', inputs: x4,
    fn: ({ x }) => [F.conv2d(x!, randn([4, 3, 3, 3]), randn([4]), { padding: 2, dilation: 2 }), F.conv2d(x!, randn([6, 1, 3, 1]), null, { stride: [2, 1], padding: [1, 0], groups: 3 })] },
  { name: 'layerNorm and groupNorm, with and without affine', inputs: x4,
    fn: ({ x }) => [F.layerNorm(x!, [6, 6]), F.layerNorm(x!, [6], randn([6]), randn([6])), F.groupNorm(x!, 3, randn([3]), randn([3])), F.groupNorm(x!.repeat([1, 2, 1, 1]), 2)] },
  { name: 'batchNorm (eval) with and without affine', inputs: x4,
    fn: ({ x }) => [F.batchNorm(x!, randn([3]), positive([3]), null, null, { training: false }), F.batchNorm(x!, randn([3]), positive([3]), randn([3]), randn([3]), { training: false, eps: 1e-3 })] },
  { name: 'channelAffine: [C], [1, C] and per-sample rows, with and without bounds', inputs: (b) => ({ x: randn([b, 3, 4, 4]), s: randn([b, 3]), t: randn([b, 3]) }),
    fn: ({ x, s, t }) => [F.channelAffine(x!, randn([3]), randn([3])), F.channelAffine(x!, randn([1, 3]), randn([1, 3]), { min: 0, max: 0.5 }),
      F.channelAffine(x!, s!, t!, { min: 0 }), F.channelAffine(x!.contiguous('channels-last'), s!, t!, { max: 0.2 })] },
  { name: 'pools', inputs: x4,
    fn: ({ x }) => [F.avgPool2d(x!, 3, 2, 1), F.maxPool2d(x!, 2), F.maxPool2d(x!, 3, 1, 1), F.adaptiveAvgPool2d(x!, 2), F.adaptiveAvgPool2d(x!, [1, 1])] },
  { name: 'interpolate nearest and bilinear', inputs: x4,
    fn: ({ x }) => [F.interpolate(x!, [9, 12], 'nearest'), F.interpolate(x!, [4, 9]), F.interpolate(x!, [11, 7], 'bilinear', true)] },
  { name: 'pad', inputs: x4, fn: ({ x }) => [F.pad(x!, [1, 2]), F.pad(x!, [0, 1, 2, 0], -1.5)] },
  { name: 'identity ops: contiguous, clone, detach, channels-last, dropout in eval', inputs: x4,
    fn: ({ x }) => x!.contiguous('channels-last').clone().detach().add(F.dropout(x!, 0.5, false)) },
];

const asNumbers = (data: ArrayLike<number | bigint>): number[] => Array.from(data, Number);

function exportCase(c: Case): { example: Inputs; bytes: Uint8Array } {
  manualSeed(7);
  const example = c.inputs(2);
  const graphInputs = Object.entries(example).map(([name, tensor]) => ({ name, tensor, dynamicBatch: !c.fixed }));
  // Weights made inside c.fn come from the generator: the same seed gives the engine runs the same ones.
  manualSeed(11);
  return { example, bytes: exportOnnx(c.fn, graphInputs) };
}

async function checkCase(c: Case): Promise<number> {
  const { example, bytes } = exportCase(c);
  let worst = 0;
  for (const batch of c.fixed ? [0] : [2, 3]) {
    const inputs = batch === 0 ? example : c.inputs(batch);
    manualSeed(11);
    const expected = noGrad(() => tidy(() => [c.fn(inputs)].flat()));
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, feedOf(t)]));
    const results = await runOnnx(bytes, feeds);
    expected.forEach((e, i) => {
      const got = results[i === 0 ? 'output' : `output_${i}`]!;
      assert.ok(got !== undefined, `${c.name}: output ${i} missing`);
      assert.deepEqual(got.dims, e.shape, `${c.name}: output ${i} has shape [${got.dims}], engine [${e.shape}] (batch ${batch})`);
      const [a, b] = [asNumbers(got.data), asNumbers(e.data() as ArrayLike<number | bigint>)];
      for (let j = 0; j < b.length; j++) {
        const diff = Math.abs(a[j]! - b[j]!);
        const ok = diff <= (c.tol ?? 1e-4) * (1 + Math.abs(b[j]!)) || (Object.is(a[j], b[j]));
        assert.ok(ok, `${c.name}: output ${i}[${j}] is ${a[j]} in ONNX, ${b[j]} in the engine (batch ${batch})`);
        if (Number.isFinite(diff)) worst = Math.max(worst, diff / (1 + Math.abs(b[j]!)));
      }
    });
  }
  return worst;
}

for (const c of CASES) {
  test(`op coverage: ${c.name}`, async (t) => {
    const worst = await checkCase(c);
    t.diagnostic(`max relative diff ${worst.toExponential(2)}`);
  });
}

test('every op-coverage graph passes the ONNX checker (full_check, opset 17)', (t) => {
  if (!onnxCheckerAvailable()) {
    t.skip(CHECKER_SKIP);
    return;
  }
  const errors = onnxCheckerErrors(Object.fromEntries(CASES.map((c) => [c.name, exportCase(c).bytes])));
  assert.deepEqual(errors, {}, `checker failures: ${JSON.stringify(errors)}`);
});
