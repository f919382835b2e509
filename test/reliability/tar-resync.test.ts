// Corrupt tar headers cost their own member, not the rest of the shard: the
// reader resyncs on the next valid header and every sample lost is counted.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createLoader, evalPreprocess, type LoaderSource } from '../../src/data/index.js';
import { resolveDataset } from '../../src/data/datasets.js';
import { createRng } from '../../src/data/random.js';
import { iterateSamples, type RawSample } from '../../src/data/webdataset/reader.js';
import { SkipCounter } from '../../src/data/webdataset/skip-counter.js';
import { labelledSamples, tarBytes, tempDir } from '../data/fixtures.js';
import { tarMembers } from './tar-layout.js';

const LABELS: LoaderSource['caption'] = { kind: 'label', classnames: ['a', 'b', 'c'], templates: ['{}'] };

async function usable(shard: string): Promise<{ keys: string[]; skips: SkipCounter }> {
  const loader = createLoader({ sources: [{ shards: shard, caption: LABELS }], batchSize: 64, preprocess: evalPreprocess(8), shuffle: false, workers: 0 });
  const keys: string[] = [];
  for await (const batch of loader) keys.push(...batch.keys);
  return { keys, skips: loader.skips };
}

test('corrupt headers in the middle of a shard: the rest is read, each lost sample counted as corrupt_header (.tar and .tar.gz)', async () => {
  const dir = tempDir();
  const tar = await tarBytes(await labelledSamples('s', 20));
  const members = tarMembers(tar);
  const corrupt = Buffer.from(tar);
  const hit = (name: string, field: number) => { corrupt[members.find((m) => m.name === name)!.header + field] ^= 0x5a; };
  hit('s005.cls', 136); // mtime: only the checksum notices
  hit('s009.jpg', 0); // the name itself
  hit('s014.jpg', 124); // both members of s014: the whole sample is gone
  hit('s014.cls', 300);
  const plain = join(dir, 'corrupt.tar');
  writeFileSync(plain, corrupt);
  const gz = join(dir, 'corrupt.tar.gz');
  writeFileSync(gz, gzipSync(corrupt));
  for (const shard of [plain, gz]) {
    const { keys, skips } = await usable(shard);
    const expected = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(3, '0')}`).filter((k) => !['s005', 's009', 's014'].includes(k));
    assert.deepEqual(keys, expected, shard);
    assert.deepEqual(skips.toJSON(), { corrupt_header: 3 }, skips.summary());
    assert.match(skips.summary(), /corrupt tar header at byte \d+, \d+ bytes skipped to the next valid header/);
  }
});

test('a corrupt header as the very last member, and garbage after the archive, lose nothing else', async () => {
  const dir = tempDir();
  const tar = await tarBytes(await labelledSamples('e', 4));
  const members = tarMembers(tar);
  const last = Buffer.from(tar);
  last[members.at(-1)!.header + 140] ^= 1;
  const withGarbage = Buffer.concat([tar, Buffer.from('trailing junk that is not a tar header'.repeat(30))]);
  for (const [name, bytes, lost] of [['last.tar', last, 1], ['junk.tar', withGarbage, 0]] as const) {
    const shard = join(dir, name);
    writeFileSync(shard, bytes);
    const { keys, skips } = await usable(shard);
    assert.equal(keys.length, 4 - lost, name);
    assert.equal(skips.total, lost, `${name}: ${skips.summary()}`);
  }
});

test('a real CIFAR-10 test shard (10,000 images) with 2,000 flipped bytes keeps over 90% of its samples, and the losses are accounted for', async () => {
  const original = gunzipSync(readFileSync(resolveDataset('cifar10', 'test').shards[0]!));
  const originalKeys = new Set<string>();
  for await (const sample of iterateSamples([await writeTemp(original, 'clean.tar')])) originalKeys.add(sample.key);
  assert.equal(originalKeys.size, 10000);

  const rng = createRng(2000);
  const flipped = Buffer.from(original);
  for (let i = 0; i < 2000; i++) flipped[Math.floor(rng() * flipped.length)] ^= 1 + Math.floor(rng() * 255);
  const skips = new SkipCounter();
  const read: RawSample[] = [];
  for await (const sample of iterateSamples([await writeTemp(flipped, 'flipped.tar')], { skipCounter: skips })) read.push(sample);

  const whole = read.filter((s) => s.members.has('jpg') && s.members.has('cls'));
  assert.ok(whole.length > 9000, `${whole.length} samples with both members (7 before the resync)`);
  const partial = read.filter((s) => !(s.members.has('jpg') && s.members.has('cls')));
  assert.deepEqual(partial.filter((s) => !s.damaged), [], 'every incomplete sample is marked damaged, so the loader counts it as corrupt_header');
  const readKeys = new Set(read.map((s) => s.key));
  const vanished = [...originalKeys].filter((k) => !readKeys.has(k)).length;
  assert.ok(Math.abs((skips.counts.get('corrupt_header') ?? 0) - vanished) <= Math.max(3, vanished / 2),
    `samples lost whole: ${vanished}, counted ${skips.counts.get('corrupt_header') ?? 0}`);
});

async function writeTemp(bytes: Buffer, name: string): Promise<string> {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes);
  return path;
}
