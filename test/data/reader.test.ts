import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { resolveDataset } from '../../src/data/datasets.js';
import { iterateSamples, splitMemberName, type RawSample } from '../../src/data/webdataset/reader.js';
import { SkipCounter } from '../../src/data/webdataset/skip-counter.js';
import { labelledSamples, tarBytes, tempDir, writeShard } from './fixtures.js';

async function take(samples: AsyncIterable<RawSample>, limit = Infinity): Promise<RawSample[]> {
  const out: RawSample[] = [];
  for await (const sample of samples) {
    out.push(sample);
    if (out.length >= limit) break;
  }
  return out;
}

test('member names split at the first dot of the base name', () => {
  assert.deepEqual(splitMemberName('dir/a.b/KEY.seg.JPG'), { key: 'dir/a.b/KEY', extension: 'seg.jpg' });
  assert.deepEqual(splitMemberName('plain'), { key: 'plain', extension: '' });
});

test('plain .tar and .tar.gz give the same grouped samples', async () => {
  const dir = tempDir();
  const samples = { a: { jpg: 'A', txt: 'cap a', json: '{}' }, b: { png: 'B', CLS: '2' } };
  const plain = await writeShard(dir, 's.tar', samples);
  const gz = await writeShard(dir, 's.tar.gz', samples);
  for (const path of [plain, gz]) {
    const got = await take(iterateSamples([path]));
    assert.deepEqual(got.map((s) => s.key), ['a', 'b']);
    assert.deepEqual([...got[0].members.keys()], ['jpg', 'txt', 'json']);
    assert.equal(got[0].members.get('txt')!.toString(), 'cap a');
    assert.equal(got[1].members.get('cls')!.toString(), '2');
    assert.equal(got[1].shard, path);
  }
});

test('a truncated tar and a truncated gzip end their shard, are counted, and reading goes on', async () => {
  const dir = tempDir();
  const bytes = await tarBytes(await labelledSamples('t', 20, 16));
  const truncatedTar = join(dir, 'cut.tar');
  writeFileSync(truncatedTar, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const truncatedGz = join(dir, 'cut.tar.gz');
  const gz = gzipSync(bytes);
  writeFileSync(truncatedGz, gz.subarray(0, Math.floor(gz.length * 0.6)));
  const good = await writeShard(dir, 'good.tar', { z: { jpg: 'Z', cls: '1' } });
  const skips = new SkipCounter();
  const got = await take(iterateSamples([truncatedTar, truncatedGz, good], { skipCounter: skips }));
  assert.equal(skips.counts.get('truncated_shard'), 2, skips.summary());
  const fromCut = got.filter((s) => s.shard !== good);
  assert.ok(fromCut.length > 2 && fromCut.length < 40, `read ${fromCut.length} samples before the cuts`);
  for (const sample of fromCut) assert.deepEqual([...sample.members.keys()], ['jpg', 'cls']);
  assert.equal(got.at(-1)!.key, 'z');
  assert.match(skips.summary(), /^skipped 2: truncated_shard 2 \(e.g. .*cut.tar/);
});

test('real CIFAR-10 test shard: 300 samples with a JPEG and a class index', async () => {
  const { shards } = resolveDataset('cifar10', 'test');
  const got = await take(iterateSamples(shards), 300);
  assert.equal(got.length, 300);
  for (const sample of got) {
    const jpg = sample.members.get('jpg')!;
    assert.ok(jpg[0] === 0xff && jpg[1] === 0xd8, `${sample.key} is a JPEG`);
    const cls = Number(sample.members.get('cls')!.toString());
    assert.ok(Number.isInteger(cls) && cls >= 0 && cls < 10);
  }
  assert.equal(new Set(got.map((s) => s.key)).size, 300);
});

test('real Flickr8k val shard: 200 samples with 5 captions each', async () => {
  const { shards } = resolveDataset('flickr8k', 'val');
  const got = await take(iterateSamples(shards), 200);
  assert.equal(got.length, 200);
  for (const sample of got) {
    const { captions } = JSON.parse(sample.members.get('json')!.toString()) as { captions: string[] };
    assert.equal(captions.length, 5);
    assert.equal(sample.members.get('txt')!.toString().trim(), captions[0].trim());
  }
  assert.ok(readFileSync(shards[0]).length > 0);
});

test('a corrupt gzip stream and a missing file are counted by their own reasons', async () => {
  const dir = tempDir();
  const gz = gzipSync(await tarBytes(await labelledSamples('c', 5, 8)));
  const flipped = Buffer.from(gz);
  for (let i = 40; i < flipped.length - 20; i += 7) flipped[i] ^= 0x5a;
  const corrupt = join(dir, 'bad.tar.gz');
  writeFileSync(corrupt, flipped);
  const skips = new SkipCounter();
  await take(iterateSamples([corrupt, join(dir, 'gone.tar')], { skipCounter: skips }));
  assert.equal(skips.total, 2, skips.summary());
  assert.equal(skips.counts.get('unreadable_shard'), 1);
  assert.equal((skips.counts.get('corrupt_shard') ?? 0) + (skips.counts.get('truncated_shard') ?? 0), 1);
});
