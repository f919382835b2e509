import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertShardsExist, expandShards } from '../../src/data/webdataset/shards.js';

test('brace ranges keep zero padding', () => {
  assert.deepEqual(expandShards('d/train-{000000..000002}.tar.gz'),
    ['d/train-000000.tar.gz', 'd/train-000001.tar.gz', 'd/train-000002.tar.gz']);
  assert.deepEqual(expandShards('x{8..11}.tar'), ['x8.tar', 'x9.tar', 'x10.tar', 'x11.tar']);
});

test('brace alternatives, nested and several groups', () => {
  assert.deepEqual(expandShards('{a,b}-{0..1}.tar'), ['a-0.tar', 'a-1.tar', 'b-0.tar', 'b-1.tar']);
  assert.deepEqual(expandShards('{a,b{1..2}}.tar'), ['a.tar', 'b1.tar', 'b2.tar']);
});

test('comma lists, "::" lists and arrays flatten in order', () => {
  assert.deepEqual(expandShards('a.tar,b-{1..2}.tar'), ['a.tar', 'b-1.tar', 'b-2.tar']);
  assert.deepEqual(expandShards('a.tar::b.tar'), ['a.tar', 'b.tar']);
  assert.deepEqual(expandShards(['a.tar', 'c{0..1}.tar']), ['a.tar', 'c0.tar', 'c1.tar']);
});

test('bad patterns and empty lists give clear errors', () => {
  assert.throws(() => expandShards('a{0..2.tar'), /unbalanced brace in shard pattern "a\{0..2.tar"/);
  assert.throws(() => expandShards('a{5..2}.tar'), /empty range \{5..2\}/);
  assert.throws(() => expandShards([]), /no shards in \[\]/);
});

test('missing shards are named before anything starts', () => {
  assert.throws(() => assertShardsExist(['/nonexistent/x-000000.tar']),
    /shard not found: \/nonexistent\/x-000000.tar; check the path or pattern/);
});
