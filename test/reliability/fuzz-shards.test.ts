// Fuzzed shards built from a few real CIFAR-10 and Flickr8k samples (in a temp
// dir, never committed): each bad sample is counted under its cause, nothing
// crashes, and what is usable is still used. Seeded; the random part is
// bounded by a count and a time budget.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { createLoader, evalPreprocess, type LoaderSource } from '../../src/data/index.js';
import { resolveDataset } from '../../src/data/datasets.js';
import { createRng, type Rng } from '../../src/data/random.js';
import { iterateSamples } from '../../src/data/webdataset/reader.js';
import type { SkipReason } from '../../src/data/webdataset/skip-counter.js';
import { tarBytes, tempDir, type Members } from '../data/fixtures.js';

const KNOWN_REASONS: SkipReason[] = ['truncated_shard', 'corrupt_shard', 'unreadable_shard', 'corrupt_image', 'missing_image', 'missing_caption',
  'missing_label', 'bad_annotation', 'corrupt_header', 'empty_member', 'oversized_member', 'image_too_large'];

async function realSamples(dataset: 'cifar10' | 'flickr8k', split: string, count: number): Promise<Record<string, Members>> {
  const out: Record<string, Members> = {};
  for await (const sample of iterateSamples(resolveDataset(dataset, split).shards)) {
    out[sample.key] = Object.fromEntries(sample.members);
    if (Object.keys(out).length >= count) break;
  }
  return out;
}

/** A real PNG whose header declares width x height pixels (CRC fixed): a decompression bomb's calling card. */
async function pngDeclaring(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

interface LoadResult { usable: number; captions: string[]; counts: Record<string, number>; error?: string }

async function load(shard: string, caption: LoaderSource['caption'], maxMemberBytes?: number): Promise<LoadResult> {
  const loader = createLoader({ sources: [{ shards: shard, caption }], batchSize: 16, preprocess: evalPreprocess(32), shuffle: false, workers: 0, maxMemberBytes });
  const captions: string[] = [];
  try {
    for await (const batch of loader) captions.push(...batch.captions);
    return { usable: captions.length, captions, counts: loader.skips.toJSON() };
  } catch (error) {
    return { usable: captions.length, captions, counts: loader.skips.toJSON(), error: (error as Error).message };
  }
}

const cifarCaption = (): LoaderSource['caption'] => resolveDataset('cifar10', 'test').caption;

test('bad members, each counted by its cause: empty, oversized, wrong extension, decompression bomb, bad label', async () => {
  const samples = await realSamples('cifar10', 'test', 16);
  const keys = Object.keys(samples);
  const member = (i: number) => samples[keys[i]!]!;
  member(1).jpg = Buffer.alloc(0); // zero-byte image
  member(2).cls = Buffer.alloc(0); // zero-byte label: would otherwise read as class 0
  member(3).jpg = Buffer.concat([member(3).jpg as Buffer, Buffer.alloc(8192)]); // over the test's member limit
  member(4).jpg = await sharp(member(4).jpg as Buffer).png().toBuffer(); // a PNG named .jpg: the bytes decide, it is used
  [member(5).jpg, member(5).cls] = [member(5).cls!, member(5).jpg!]; // image and label swapped: the label is read first
  member(6).jpg = await pngDeclaring(40_000, 40_000); // 1.6 gigapixels declared in 70 bytes
  member(7).cls = '12'; // no such class
  member(8).cls = Buffer.from([0xff, 0xfe, 0x33]); // not UTF-8, not a number
  delete member(9).jpg; // no image at all
  const dir = tempDir();
  for (const name of ['bad.tar', 'bad.tar.gz']) {
    const tar = await tarBytes(samples);
    const shard = join(dir, name);
    writeFileSync(shard, name.endsWith('.gz') ? gzipSync(tar) : tar);
    const result = await load(shard, cifarCaption(), 4096);
    assert.equal(result.error, undefined);
    assert.deepEqual(result.counts, { empty_member: 2, oversized_member: 1, image_too_large: 1, bad_annotation: 3, missing_image: 1 }, name);
    assert.equal(result.usable, 16 - 8, `${name}: the PNG named .jpg and the 7 untouched samples are used`);
  }
});

test('non-UTF-8 captions: invalid bytes become U+FFFD (the stated normalisation) and the sample is used', async () => {
  const samples = await realSamples('flickr8k', 'val', 4);
  const [first, second] = Object.values(samples);
  first!.txt = Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' a dog runs')]);
  delete first!.json;
  second!.json = Buffer.from([0x7b, 0xff, 0x7d]); // not JSON: the .txt is the fallback
  const shard = join(tempDir(), 'captions.tar');
  writeFileSync(shard, await tarBytes(samples));
  const result = await load(shard, { kind: 'text' });
  assert.deepEqual(result.counts, {});
  assert.equal(result.usable, 4);
  assert.ok(result.captions.includes('\uFFFD\uFFFD\uFFFD a dog runs'), JSON.stringify(result.captions));
});

function mutate(tar: Buffer, rng: Rng): { bytes: Buffer; what: string } {
  const bytes = Buffer.from(tar);
  const kind = Math.floor(rng() * 4);
  if (kind === 0) {
    const cut = Math.floor(rng() * bytes.length);
    return { bytes: bytes.subarray(0, cut), what: `truncated at ${cut}` };
  }
  const flips = 1 + Math.floor(rng() * (kind === 1 ? 4 : 60));
  for (let i = 0; i < flips; i++) bytes[Math.floor(rng() * bytes.length)] ^= 1 + Math.floor(rng() * 255);
  if (kind === 3) {
    const cut = Math.floor(bytes.length * (0.5 + rng() / 2));
    return { bytes: bytes.subarray(0, cut), what: `${flips} flipped bytes, truncated at ${cut}` };
  }
  return { bytes, what: `${flips} flipped bytes` };
}

test('seeded random truncations and flipped bytes (.tar and .tar.gz): no crash, losses counted by known causes', async (t) => {
  const samples = await realSamples('cifar10', 'test', 24);
  const tar = await tarBytes(samples);
  const rng = createRng(1919);
  const dir = tempDir();
  const deadline = Date.now() + 20_000; // bounds the run on a loaded machine; the sequence itself is fixed by the seed
  let cases = 0;
  for (; cases < 80 && Date.now() < deadline; cases++) {
    const { bytes, what } = mutate(tar, rng);
    const gz = rng() < 0.3;
    const shard = join(dir, `case-${cases}.tar${gz ? '.gz' : ''}`);
    // Half the gzip cases corrupt the compressed bytes, half the tar inside.
    writeFileSync(shard, gz ? (rng() < 0.5 ? mutate(gzipSync(tar), rng).bytes : gzipSync(bytes)) : bytes);
    const result = await load(shard, cifarCaption());
    const label = `case ${cases} (${gz ? 'gz, ' : ''}${what})`;
    if (result.error !== undefined) {
      // Only a shard with nothing readable at all ends the run, and it says so in one line.
      assert.equal(result.usable, 0, label);
      assert.match(result.error, /^no readable samples in 1 shard\(s\) starting with .*: check the data \(skipped/, label);
      assert.doesNotMatch(result.error, /\n/, label);
    }
    for (const reason of Object.keys(result.counts)) assert.ok(KNOWN_REASONS.includes(reason as SkipReason), `${label}: ${reason}`);
    assert.ok(result.usable <= 24, label);
    const counted = Object.values(result.counts).reduce((a, b) => a + b, 0);
    if (result.usable < 24 && !/truncated/.test(what) && !gz) assert.ok(counted > 0, `${label}: ${24 - result.usable} samples lost, none counted`);
  }
  t.diagnostic(`${cases} fuzzed shards`);
  assert.ok(cases >= 10, `${cases} cases ran`);
});
