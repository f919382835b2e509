// The quantization arithmetic: ONNX's rounding, activation ranges that keep
// zero exact, per-channel symmetric int8 weights within half a step, and
// int32 biases at the accumulator's scale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationParams, quantizeBias, quantizeWeight, roundHalfEven, WEIGHT_LEVELS } from '../../../src/deploy/quantize/params.js';

test('rounding is half to even, as QuantizeLinear rounds', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6, -2.6].map(roundHalfEven), [0, 2, 2, 0, -2, 2, 3, -3]);
});

test('activation parameters cover the range widened to zero, and zero is exact', () => {
  const relu = activationParams(0, 6);
  assert.equal(relu.zeroPoint, 0);
  assert.ok(Math.abs(relu.scale * 255 - 6) < 1e-5);
  const signed = activationParams(-2, 6);
  assert.equal(signed.zeroPoint, 64); // 2 / (8 / 255) = 63.75
  assert.ok((0 - signed.zeroPoint) * signed.scale <= -2 + signed.scale / 2, 'the minimum stays within half a step');
  const positive = activationParams(3, 5); // widened to [0, 5]: zero must be representable
  assert.equal(positive.zeroPoint, 0);
  assert.ok(Math.abs(positive.scale * 255 - 5) < 1e-5);
  assert.deepEqual(activationParams(0, 0), { scale: 1, zeroPoint: 0 });
  assert.throws(() => activationParams(NaN, 1), /not finite/);
  assert.throws(() => activationParams(0, Infinity), /not finite/);
});

test('weights: symmetric int8 per output channel, within half a step of the float value', () => {
  // [3 out, 2 in, 1, 2]: channel 0 mixed signs, channel 1 all zero, channel 2 tiny values.
  const data = Float32Array.of(1, -0.5, 0.25, -2, 0, 0, 0, 0, 1e-3, 2e-3, -4e-3, 3e-3);
  const { values, scales } = quantizeWeight(data, [3, 2, 1, 2], 0);
  assert.deepEqual(Array.from(scales, (s) => Number(s.toPrecision(6))), [2 / WEIGHT_LEVELS, 1, 4e-3 / WEIGHT_LEVELS].map((s) => Number(Math.fround(s).toPrecision(6))));
  assert.equal(values[3], -WEIGHT_LEVELS, 'each channel\'s largest magnitude maps to the end of the grid');
  assert.equal(values[10], -WEIGHT_LEVELS);
  assert.deepEqual(Array.from(values.slice(4, 8)), [0, 0, 0, 0]);
  for (let i = 0; i < data.length; i++) {
    const scale = scales[Math.floor(i / 4)]!;
    assert.ok(Math.abs(values[i]! * scale - data[i]!) <= scale / 2 + 1e-9, `weight ${i}`);
  }
  // [in 2, out 3] as MatMul stores it: channels along axis 1.
  const columns = quantizeWeight(Float32Array.of(1, 0, -3, 0.5, 0, 1), [2, 3], 1);
  assert.deepEqual(Array.from(columns.values), [127, 0, -127, 64, 0, 42]);
  assert.throws(() => quantizeWeight(data, [3, 4], 2), /axis 2 is outside a rank-2 weight/);
});

test('biases: int32 at input scale x weight scale, per channel', () => {
  const { values, scales } = quantizeBias(Float32Array.of(0.3, -1, 0), 0.02, Float32Array.of(0.5, 0.01, 1));
  assert.deepEqual(Array.from(scales, (s) => Number(s.toPrecision(6))), [0.01, 0.0002, 0.02]);
  assert.deepEqual(Array.from(values), [30, -5000, 0]);
  assert.throws(() => quantizeBias(Float32Array.of(1), 1, Float32Array.of(1, 1)), /does not match 2 weight channels/);
});
