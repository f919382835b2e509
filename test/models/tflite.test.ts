import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Builder } from 'flatbuffers';
import { dataRoot } from '../../src/data/datasets.js';
import { dequantize, readTflite, type TfliteModel, type TfliteOperator, type TfliteTensor } from '../../src/models/import/tflite.js';

const DIR = path.join(dataRoot(), 'pretrained');
const V1 = 'mobilenet_v1_0.25_128_quant.tflite';
const V2 = 'mobilenet_v2_1.0_224_quant.tflite';
// Missing data skips locally but fails on CI, where the files must be present.
const skip = existsSync(DIR) || process.env.CI === 'true' ? false : `${DIR} is missing: the pretrained TFLite files live in ../shared/data/pretrained (or set HYPERCLIP_DATA)`;

function bytesOf(name: string): Uint8Array {
  const file = path.join(DIR, name);
  assert.ok(existsSync(file), `${file} is missing`);
  return readFileSync(file);
}
const load = (name: string): TfliteModel => readTflite(bytesOf(name), name);

const count = (m: TfliteModel, opcode: string): number => m.operators.filter((op) => op.opcode === opcode).length;
const tensorOf = (m: TfliteModel, index: number): TfliteTensor => m.tensors[index]!;
const convs = (m: TfliteModel) => m.operators.filter((op): op is Extract<TfliteOperator, { opcode: 'CONV_2D' }> => op.opcode === 'CONV_2D');

test('MobileNet v1 0.25/128: input, layers, first conv and classifier', { skip }, () => {
  const m = load(V1);
  assert.equal(m.version, 3);
  const input = tensorOf(m, m.inputs[0]!);
  assert.equal(input.type, 'uint8');
  assert.deepEqual(input.shape, [1, 128, 128, 3]);
  assert.ok(Math.abs(input.quantization!.scale[0]! - 1 / 128) < 1e-6);
  assert.deepEqual(input.quantization!.zeroPoint, [128]);

  const opcodes = m.operators.map((op) => op.opcode);
  assert.deepEqual(opcodes.slice(0, 2), ['CONV_2D', 'DEPTHWISE_CONV_2D']);
  assert.deepEqual(opcodes.slice(-4), ['AVERAGE_POOL_2D', 'CONV_2D', 'RESHAPE', 'SOFTMAX']); // the classifier is a 1x1 conv
  // Stem conv + 13 pointwise + the 1x1 classifier conv; 13 depthwise.
  assert.equal(count(m, 'CONV_2D'), 15);
  assert.equal(count(m, 'DEPTHWISE_CONV_2D'), 13);
  assert.equal(m.operators.length, 31);

  const first = convs(m)[0]!;
  assert.deepEqual(tensorOf(m, first.inputs[1]!).shape, [8, 3, 3, 3]); // [out, kh, kw, in], 32 x 0.25 channels
  assert.deepEqual(first.options, { padding: 'SAME', strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, activation: 'RELU6' });
  const bias = tensorOf(m, first.inputs[2]!);
  assert.equal(bias.type, 'int32');
  assert.deepEqual(bias.shape, [8]);

  const classifier = convs(m).at(-1)!;
  assert.deepEqual(tensorOf(m, classifier.inputs[1]!).shape, [1001, 1, 1, 256]);
  assert.equal(classifier.options.activation, 'NONE');
  const pool = m.operators.find((op) => op.opcode === 'AVERAGE_POOL_2D')!;
  assert.deepEqual(pool.options, { padding: 'VALID', strideH: 2, strideW: 2, filterH: 4, filterW: 4, activation: 'NONE' });
  const output = tensorOf(m, m.outputs[0]!);
  assert.deepEqual(output.shape, [1, 1001]);
  assert.equal(m.operators.at(-1)!.outputs[0], m.outputs[0]);
});

test('MobileNet v2 1.0/224: 10 residual adds, 1001-way last conv', { skip }, () => {
  const m = load(V2);
  assert.deepEqual(tensorOf(m, m.inputs[0]!).shape, [1, 224, 224, 3]);
  assert.equal(count(m, 'ADD'), 10);
  assert.equal(count(m, 'CONV_2D'), 36);
  assert.equal(count(m, 'DEPTHWISE_CONV_2D'), 17);
  const last = convs(m).at(-1)!;
  assert.equal(tensorOf(m, last.outputs[0]!).shape.at(-1), 1001);
  assert.equal(m.operators.at(-1)!.opcode, 'SOFTMAX');
  const pool = m.operators.find((op) => op.opcode === 'AVERAGE_POOL_2D')!;
  assert.deepEqual(pool.options, { padding: 'VALID', strideH: 1, strideW: 1, filterH: 7, filterW: 7, activation: 'NONE' });
});

test('all four files read, with the input size in the name and 1001 outputs', { skip }, () => {
  for (const [name, size] of [[V1, 128], ['mobilenet_v1_0.5_160_quant.tflite', 160], ['mobilenet_v1_0.75_192_quant.tflite', 192], [V2, 224]] as const) {
    const m = load(name);
    assert.deepEqual(tensorOf(m, m.inputs[0]!).shape, [1, size, size, 3], name);
    assert.deepEqual(tensorOf(m, m.outputs[0]!).shape, [1, 1001], name);
    for (const t of m.tensors.filter((t) => t.type === 'int32' && t.quantization)) assert.deepEqual(new Set(t.quantization!.zeroPoint), new Set([0]), t.name);
  }
});

test('dequantize: uint8 filters and int32 biases are scale * (q - zero point)', { skip }, () => {
  const m = load(V1);
  const first = convs(m)[0]!;
  const filter = tensorOf(m, first.inputs[1]!);
  const { scale: [scale], zeroPoint: [zp] } = filter.quantization!;
  const values = dequantize(filter);
  assert.equal(values.length, 8 * 3 * 3 * 3);
  for (const i of [0, 1, 100, 215]) assert.ok(Math.abs(values[i]! - scale! * (filter.data![i]! - zp!)) < 1e-6, `entry ${i}`);

  const bias = tensorOf(m, first.inputs[2]!);
  const raw = new DataView(bias.data!.buffer, bias.data!.byteOffset, bias.data!.byteLength);
  const biasValues = dequantize(bias);
  for (const i of [0, 7]) assert.ok(Math.abs(biasValues[i]! - bias.quantization!.scale[0]! * raw.getInt32(4 * i, true)) < 1e-6);
  assert.throws(() => dequantize(tensorOf(m, m.inputs[0]!)), /^Error: tensor \d+ "input" has no data to dequantize/);
});

test('dequantize: per-axis int8 and float32', () => {
  const data = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0xfd]); // int8 [[0, 1, 2], [-1, -2, -3]]
  const perAxis: TfliteTensor = { index: 0, name: 'w', shape: [2, 3], type: 'int8', data, quantization: { scale: [0.5, 2], zeroPoint: [0, 1], axis: 0 } };
  assert.deepEqual(Array.from(dequantize(perAxis)), [0, 0.5, 1, -4, -6, -8]);
  const f = new Float32Array([1.5, -2]);
  const float: TfliteTensor = { index: 1, name: 'f', shape: [2], type: 'float32', data: new Uint8Array(f.buffer), quantization: null };
  assert.deepEqual(Array.from(dequantize(float)), [1.5, -2]);
});

/** A one-tensor model built with the official FlatBuffers builder (field indices from schema.fbs). */
function tinyModel({ subgraphs = 1, type = 3, shape = [2, 2], data = [1, 2, 3, 4] } = {}): Uint8Array {
  const b = new Builder(256);
  const offsets = (items: number[]): number => {
    b.startVector(4, items.length, 4);
    for (const o of [...items].reverse()) b.addOffset(o);
    return b.endVector();
  };
  const ints = (items: number[]): number => {
    b.startVector(4, items.length, 4);
    for (const x of [...items].reverse()) b.addInt32(x);
    return b.endVector();
  };
  const buffer = (bytes: number[]): number => {
    const vector = b.createByteVector(new Uint8Array(bytes));
    b.startObject(1);
    b.addFieldOffset(0, vector, 0);
    return b.endObject();
  };
  const buffers = offsets([buffer([]), buffer(data)]);
  const graphs = Array.from({ length: subgraphs }, () => {
    const [shapeVector, name] = [ints(shape), b.createString('x')];
    b.startObject(5);
    b.addFieldOffset(0, shapeVector, 0);
    b.addFieldInt8(1, type, 0);
    b.addFieldInt32(2, 1, 0);
    b.addFieldOffset(3, name, 0);
    const tensors = offsets([b.endObject()]);
    const [inputs, outputs] = [ints([0]), ints([0])];
    b.startObject(5);
    b.addFieldOffset(0, tensors, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    return b.endObject();
  });
  const graphVector = offsets(graphs);
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(2, graphVector, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array();
}

function assertOneLineError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

test('a minimal model from the official builder reads back', () => {
  const m = readTflite(tinyModel(), 'tiny.tflite');
  assert.deepEqual(m.inputs, [0]);
  assert.deepEqual(m.operators, []);
  const t = m.tensors[0]!;
  assert.deepEqual({ ...t, data: Array.from(t.data!) }, { index: 0, name: 'x', shape: [2, 2], type: 'uint8', data: [1, 2, 3, 4], quantization: null });
});

test('bad input throws one readable line naming the file', () => {
  // Deterministic noise (an LCG) whose bytes 4..8 are not "TFL3".
  let seed = 1;
  const noise = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  assertOneLineError(() => readTflite(noise, 'noise.bin'), /^noise\.bin: not a TFLite file: file identifier ".*", expected "TFL3"$/);
  assertOneLineError(() => readTflite(new Uint8Array(0), 'empty.tflite'), /^empty\.tflite: not a TFLite file: 0 bytes, too short for a FlatBuffers header$/);
  assertOneLineError(() => readTflite(tinyModel({ subgraphs: 0 }), 'none.tflite'), /^none\.tflite: expected 1 subgraph, found 0$/);
  assertOneLineError(() => readTflite(tinyModel({ subgraphs: 2 }), 'two.tflite'), /^two\.tflite: expected 1 subgraph, found 2$/);
  assertOneLineError(() => readTflite(tinyModel({ type: 5 }), 'str.tflite'), /^str\.tflite: tensor 0 "x" has tensor type 5, which is not supported \(expected one of float32, /);
  assertOneLineError(() => readTflite(tinyModel({ data: [1, 2, 3] }), 'short.tflite'),
    /^short\.tflite: tensor 0 "x" of shape \[2,2\] and type uint8 needs 4 bytes, but buffer 1 holds 3$/);
});

test('a truncated real file throws one line saying it is truncated', { skip }, () => {
  const bytes = bytesOf(V1).subarray(0, 1000);
  assertOneLineError(() => readTflite(bytes, 'cut.tflite'), /^cut\.tflite: .* lies outside the file \(1000 bytes\): truncated or not a TFLite file$/);
});
