// The c10d process group on its own (one process): option checks, the
// collectives of a group of one, a closed group, a rendezvous that times out
// (an error, never a hang), the async all-reduce, and the per-sample norm affine's addcmul.
import assert from 'node:assert/strict';
import { freePort } from '../../src/train/free-port.js';
import { test } from 'node:test';
import { F, ProcessGroup, tensor } from '../../src/engine/index.js';
import { assertTensor, gradcheck, spread } from './helpers.js';


const options = { rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500, timeoutMs: 5000 };

test('bad group options are one clear line, before any connection', () => {
  assert.throws(() => ProcessGroup.connect({ ...options, rank: 2, worldSize: 2 }), /expected a rank between 0 and 1 but received 2/);
  assert.throws(() => ProcessGroup.connect({ ...options, worldSize: 0 }), /expected a world size >= 1 but received 0/);
  assert.throws(() => ProcessGroup.connect({ ...options, masterPort: 70000 }), /expected a master port between 1 and 65535 but received 70000/);
  assert.throws(() => ProcessGroup.connect({ ...options, timeoutMs: 0 }), /expected a positive timeout but received 0 ms/);
});

test('a group of one: the collectives keep or return the values, and a closed group refuses', async () => {
  const group = ProcessGroup.connect({ ...options, masterPort: await freePort() });
  const x = tensor([1, 2, 3]);
  group.allReduce(x, 'sum');
  assertTensor(x, [3], [1, 2, 3]);
  group.allReduce(x, 'average');
  assertTensor(x, [3], [1, 2, 3]);
  const kernel = spread([2, 3, 2, 2]).to('float32').contiguous('channels-last');
  group.broadcast([kernel]);
  assert.ok(kernel.isContiguous('channels-last'));
  const gathered = group.allGather(tensor([4, 5]));
  assert.equal(gathered.length, 1);
  assertTensor(gathered[0]!, [2], [4, 5]);
  assert.deepEqual([...group.allGatherBytes(new Uint8Array([7, 8, 9]))[0]!], [7, 8, 9]);
  group.barrier();
  assert.ok(group.commSeconds >= 0);
  group.close();
  assert.throws(() => group.barrier(), /process group of rank 0 is closed/);
});

test('an async all-reduce in a group of one: the result after wait(), in place also for a strided tensor; a closed group refuses a launch', async () => {
  const group = ProcessGroup.connect({ ...options, masterPort: await freePort() });
  const x = tensor([1, 2, 3]);
  const work = group.allReduceAsync(x, 'average');
  work.wait();
  work.wait();
  assertTensor(x, [3], [1, 2, 3]);
  const strided = tensor([[1, 2], [3, 4]]).transpose(0, 1); // [[1, 3], [2, 4]], not contiguous
  group.allReduceAsync(strided, 'sum').wait();
  assertTensor(strided, [2, 2], [1, 3, 2, 4]);
  const before = group.commSeconds;
  group.allReduceAsync(x).wait();
  assert.ok(group.commSeconds > before, 'launch and wait count as time in collectives');
  group.close();
  assert.throws(() => group.allReduceAsync(x), /process group of rank 0 is closed/);
});

test('a rendezvous whose other rank never comes fails after the timeout with one clear error', async () => {
  const port = await freePort();
  const started = Date.now();
  assert.throws(() => ProcessGroup.connect({ ...options, worldSize: 2, masterPort: port, timeoutMs: 1500 }),
    new RegExp(`rendezvous of rank 0 of 2 at 127.0.0.1:${port} failed`));
  assert.ok(Date.now() - started >= 1000, 'it gave up before its timeout');
});

test('addcmul: base + a * b with broadcasting, and its gradient', () => {
  const out = F.addcmul(tensor([[1], [2]]), tensor([[1, 2], [3, 4]]), tensor([10, 100]));
  assertTensor(out, [2, 2], [11, 201, 32, 402]);
  gradcheck('addcmul', (base, a, b) => F.addcmul(base!, a!, b!), [spread([2, 3, 1, 1]), spread([2, 3, 4, 4], 1), spread([2, 3, 1, 1], 2)]);
});
