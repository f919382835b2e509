// safetensors files: round trips of every dtype with metadata, clear errors
// for corrupt files, and files another reader (NumPy) understands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Linear, loadSafetensors, readSafetensorsMetadata, saveSafetensors, tensor, type Tensor } from '../../src/engine/index.js';
import { dependencyPresent, skipWithout } from '../ci/system-dependency.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-safetensors-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function everyDtype(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['f32', tensor([[1.5, -2], [0.25, 3e-8]])],
    ['f64', tensor([0.1, -1e300], undefined, { dtype: 'float64' })],
    ['i64', tensor(new BigInt64Array([-(2n ** 62n), 7n, 0n]))],
    ['i32', tensor([-5, 2147483647], undefined, { dtype: 'int32' })],
    ['u8', tensor([0, 200, 255], undefined, { dtype: 'uint8' })],
    ['bool', tensor([1, 0, 1, 1], [2, 2], { dtype: 'bool' })],
    ['f16', tensor([1.5, -0.1, 65504]).to('float16')],
    ['bf16', tensor([[1.5, -0.1, 3e38]]).to('bfloat16')],
    ['scalar', tensor(4)],
    ['empty', tensor(new Float32Array(0), [0, 3])],
  ]);
}

test('every dtype and the metadata survive a save and load bit for bit', () => {
  const file = path.join(dir, 'all.safetensors');
  const tensors = everyDtype();
  const metadata = { format: 'pt', note: 'ünïcode & "quotes"' };
  saveSafetensors(file, tensors, metadata);
  const loaded = loadSafetensors(file);
  assert.deepEqual(loaded.metadata, metadata);
  assert.deepEqual([...loaded.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const back = loaded.tensors.get(name)!;
    assert.equal(back.dtype, t.dtype, name);
    assert.deepEqual(back.shape, t.shape, name);
    assert.deepEqual(back.data(), t.data(), name);
  }
});

test('a file without metadata, and a module state dict round trip', () => {
  const file = path.join(dir, 'model.safetensors');
  const fc = new Linear(3, 2);
  saveSafetensors(file, fc.stateDict());
  const { tensors, metadata } = loadSafetensors(file);
  assert.deepEqual(metadata, {});
  const other = new Linear(3, 2);
  other.loadStateDict(tensors);
  assert.deepEqual(other.weight.toArray(), fc.weight.toArray());
  assert.deepEqual(other.bias!.toArray(), fc.bias!.toArray());
});

test('the header is 8-byte aligned JSON with the format’s dtype names and offsets', () => {
  const file = path.join(dir, 'layout.safetensors');
  saveSafetensors(file, new Map([['a', tensor([1, 2])], ['b', tensor([3], undefined, { dtype: 'int64' })]]), { k: 'v' });
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  assert.deepEqual(header, {
    __metadata__: { k: 'v' },
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
  });
  assert.equal(bytes.byteLength, 8 + headerLength + 16);
  assert.equal(bytes.readFloatLE(8 + headerLength + 4), 2);
});

test('corrupt or truncated files give one clear error', () => {
  const good = path.join(dir, 'good.safetensors');
  saveSafetensors(good, everyDtype());
  const bytes = readFileSync(good);
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated-data', bytes.subarray(0, bytes.byteLength - 3), /not a valid safetensors file: tensor \w+ has inconsistent offsets/],
    ['truncated-header', bytes.subarray(0, 40), /not a valid safetensors file: header length \d+ exceeds the file/],
    ['tiny', bytes.subarray(0, 5), /not a valid safetensors file: too short/],
    ['empty', new Uint8Array(0), /not a valid safetensors file: too short/],
  ];
  const badJson = Buffer.from(bytes);
  badJson[9] = 0x7b; // '{' in place of the header's first key quote
  cases.push(['bad-json', badJson, /not a valid safetensors file: header is not JSON/]);
  const badDtype = Buffer.from(bytes.toString('latin1').replace('"F64"', '"X64"'), 'latin1');
  cases.push(['bad-dtype', badDtype, /tensor f64 has unsupported dtype X64/]);
  for (const [name, content, pattern] of cases) {
    const file = path.join(dir, `${name}.safetensors`);
    writeFileSync(file, content);
    assert.throws(() => loadSafetensors(file), (err: Error) => {
      assert.match(err.message, pattern, name);
      assert.ok(err.message.includes(file), `${name}: the message names the file`);
      return true;
    });
  }
  assert.throws(() => loadSafetensors(path.join(dir, 'absent.safetensors')), /no such file: .*absent\.safetensors/);
});

test('malformed headers give a clear error and no crash', () => {
  const headers: [string, unknown, RegExp][] = [
    ['null-entry', { a: null }, /tensor a has a malformed entry/],
    ['no-shape', { a: { dtype: 'F32', data_offsets: [0, 4] } }, /tensor a has a malformed shape/],
    ['no-offsets', { a: { dtype: 'F32', shape: [1] } }, /tensor a has malformed data_offsets/],
    ['negative-offset', { a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, /tensor a has malformed data_offsets/],
    ['array', [1, 2], /header is not a JSON object/],
    ['null', null, /header is not a JSON object/],
  ];
  for (const [name, json, pattern] of headers) {
    const text = Buffer.from(JSON.stringify(json));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(text.byteLength));
    const file = path.join(dir, `${name}.safetensors`);
    writeFileSync(file, Buffer.concat([length, text, Buffer.alloc(8)]));
    assert.throws(() => loadSafetensors(file), pattern, name);
  }
});

// A reader written from the format description alone, in NumPy: prints each tensor's values as JSON.
const NUMPY_READER = `
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
kinds = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4', 'U8': 'u1', 'BOOL': '?', 'F16': '<f2', 'BF16': '<u2'}
out = {'__metadata__': header.pop('__metadata__', {})}
for name, e in header.items():
    b, end = e['data_offsets']
    a = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=kinds[e['dtype']]).reshape(e['shape'])
    if e['dtype'] == 'BF16':
        a = (a.astype(np.uint32) << 16).view(np.float32)
    values = [str(v) for v in a.ravel().tolist()] if e['dtype'] == 'I64' else a.astype(np.float64).ravel().tolist()
    out[name] = {'dtype': e['dtype'], 'shape': list(a.shape), 'values': values}
print(json.dumps(out))
`;
const PYTHON = '/usr/bin/python3';
const hasNumpy = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const NUMPY_MISSING = 'needs /usr/bin/python3 with numpy (apt install python3-numpy)';

test('files are readable by an independent NumPy reader', { skip: skipWithout(hasNumpy, NUMPY_MISSING) }, () => {
  dependencyPresent(hasNumpy, NUMPY_MISSING);
  const file = path.join(dir, 'numpy.safetensors');
  const tensors = everyDtype();
  saveSafetensors(file, tensors, { model: 'tiny' });
  const parsed = JSON.parse(execFileSync(PYTHON, ['-c', NUMPY_READER, file], { encoding: 'utf8' }));
  assert.deepEqual(parsed.__metadata__, { model: 'tiny' });
  for (const [name, t] of tensors) {
    const entry = parsed[name];
    assert.deepEqual(entry.shape, t.shape, name);
    if (t.dtype === 'int64') assert.deepEqual(entry.values, Array.from(t.data() as BigInt64Array, String), name);
    else assert.deepEqual(entry.values, t.toArray(), name);
  }
});

test('the metadata alone is read from the header; a truncated header is one clear error', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'safetensors-meta-'));
  try {
    const file = path.join(dir, 'm.safetensors');
    saveSafetensors(file, new Map([['w', tensor([1, 2, 3], [3])]]), { format: 'x', step: '7' });
    assert.deepEqual(readSafetensorsMetadata(file), { format: 'x', step: '7' });
    writeFileSync(file, readFileSync(file).subarray(0, 12));
    assert.throws(() => readSafetensorsMetadata(file), /is not a valid safetensors file: header length \d+ exceeds the file/);
    assert.throws(() => readSafetensorsMetadata(path.join(dir, 'none.safetensors')), /no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
