import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SampleStream, type StreamOptions, type StreamState } from '../../src/data/webdataset/stream.js';
import { tempDir, writeShard } from './fixtures.js';

/** Four shards of 10 tiny samples each: keys "s<shard>-<i>". */
async function fourShards(prefix = 's'): Promise<string[]> {
  const dir = tempDir();
  const paths: string[] = [];
  for (let s = 0; s < 4; s++) {
    const samples: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 10; i++) samples[`${prefix}${s}-${i}`] = { txt: `caption ${s} ${i}` };
    paths.push(await writeShard(dir, `${prefix}-${s}.tar`, samples));
  }
  return paths;
}

async function keys(options: StreamOptions, count: number): Promise<{ keys: string[]; seeds: number[]; state: StreamState }> {
  const stream = new SampleStream(options);
  const out: string[] = [];
  const seeds: number[] = [];
  for (let i = 0; i < count; i++) {
    const item = await stream.next();
    if (!item) break;
    out.push(item.sample.key);
    seeds.push(item.seed);
  }
  const state = stream.state;
  await stream.close();
  return { keys: out, seeds, state };
}

test('the order is a seeded shuffle: same seed same order, another seed another order', async () => {
  const shards = await fourShards();
  const a = await keys({ sources: [{ shards }], seed: 7, bufferSize: 8 }, 40);
  const b = await keys({ sources: [{ shards }], seed: 7, bufferSize: 8 }, 40);
  const c = await keys({ sources: [{ shards }], seed: 8, bufferSize: 8 }, 40);
  assert.deepEqual(a.keys, b.keys);
  assert.notDeepEqual(a.keys, c.keys);
  assert.equal(new Set(a.keys).size, 40, 'one epoch visits every sample once');
  const stored = shards.flatMap((_, s) => Array.from({ length: 10 }, (__, i) => `s${s}-${i}`));
  assert.notDeepEqual(a.keys, stored);
});

test('epochs repeat with a new order; shuffle off keeps the stored order for one pass', async () => {
  const shards = await fourShards();
  const two = await keys({ sources: [{ shards }], seed: 1, bufferSize: 8 }, 80);
  assert.equal(two.keys.length, 80);
  assert.deepEqual(new Set(two.keys.slice(40)), new Set(two.keys.slice(0, 40)));
  assert.notDeepEqual(two.keys.slice(40), two.keys.slice(0, 40));
  assert.deepEqual(two.state, { draws: 80, sources: [{ epoch: 1, consumed: 40 }] });
  const plain = await keys({ sources: [{ shards }], shuffle: false }, 100);
  assert.equal(plain.keys.length, 40);
  assert.deepEqual(plain.keys.slice(0, 3), ['s0-0', 's0-1', 's0-2']);
});

test('resuming from a saved state continues exactly where the run stopped, across epochs', async () => {
  const shards = await fourShards();
  const base = { sources: [{ shards }], seed: 3, bufferSize: 16 };
  const full = await keys(base, 70);
  for (const stop of [0, 13, 40, 55]) {
    const first = await keys(base, stop);
    const state = JSON.parse(JSON.stringify(first.state)) as StreamState;
    const rest = await keys({ ...base, state }, 70 - stop);
    assert.deepEqual([...first.keys, ...rest.keys], full.keys, `resume after ${stop}`);
    assert.deepEqual([...first.seeds, ...rest.seeds], full.seeds, `same per-sample seeds after ${stop}`);
  }
});

test('mixture draws follow the weights and resume too', async () => {
  const a = await fourShards('a');
  const b = await fourShards('b');
  const base: StreamOptions = { sources: [{ shards: a, weight: 3 }, { shards: b, weight: 1 }], seed: 5, bufferSize: 8 };
  const run = await keys(base, 800);
  const fromA = run.keys.filter((k) => k.startsWith('a')).length / run.keys.length;
  assert.ok(Math.abs(fromA - 0.75) < 0.05, `share of source a ${fromA}`);
  const first = await keys(base, 333);
  const rest = await keys({ ...base, state: first.state }, 467);
  assert.deepEqual([...first.keys, ...rest.keys], run.keys);
});

test('finite sources in a mixture end when all are exhausted', async () => {
  const a = await fourShards('a');
  const b = await fourShards('b');
  const run = await keys({ sources: [{ shards: a, weight: 9 }, { shards: b, weight: 1 }], shuffle: false }, 1000);
  assert.equal(run.keys.length, 80);
});

test('bad options give clear errors', async () => {
  const shards = await fourShards();
  assert.throws(() => new SampleStream({ sources: [] }), /no data sources given/);
  assert.throws(() => new SampleStream({ sources: [{ shards, weight: -1 }] }), /mixture weights must be non-negative/);
  assert.throws(() => new SampleStream({ sources: [{ shards }], state: { draws: 0, sources: [] } }),
    /cannot resume: the saved position has 0 sources, the loader has 1/);
});
