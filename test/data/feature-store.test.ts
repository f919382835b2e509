// The on-disk store of per-view features: written in whole chunks, read back
// byte for byte, damage found and counted (never a crash), another key refused.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FeatureStore } from '../../src/data/feature-store/store.js';
import { tempDir } from './fixtures.js';

const KEY = { format: 1, tower: 'a.tflite', views: 2 };
const ENTRY = 64;

const bytesOf = (seed: number): Uint8Array => Uint8Array.from({ length: ENTRY }, (_, i) => (seed * 31 + i * 7) & 0xff);
const chunks = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.chunk')).map((f) => path.join(dir, f));

function filled(dir: string, count: number, entriesPerChunk = 4): void {
  const store = FeatureStore.open(dir, KEY, { entryBytes: ENTRY, entriesPerChunk });
  for (let i = 0; i < count; i++) store.put(`flickr8k:train/k${i}`, i % 2, bytesOf(i));
  store.close();
}

test('views written in chunks are read back unchanged by a later opening; absent views are misses', () => {
  const dir = tempDir();
  const store = FeatureStore.open(dir, KEY, { entryBytes: ENTRY, entriesPerChunk: 4 });
  for (let i = 0; i < 6; i++) store.put(`flickr8k:train/k${i}`, i % 2, bytesOf(i));
  assert.equal(chunks(dir).length, 1, 'a full chunk is written at once, the rest waits');
  assert.deepEqual(store.read('flickr8k:train/k5', 1), bytesOf(5), 'a waiting view is read from memory');
  store.close();
  assert.equal(chunks(dir).length, 2);

  const again = FeatureStore.open(dir, KEY, { entryBytes: ENTRY });
  assert.equal(again.stats.found, 6);
  for (let i = 0; i < 6; i++) assert.deepEqual(again.read(`flickr8k:train/k${i}`, i % 2), bytesOf(i));
  assert.equal(again.read('flickr8k:train/k0', 1), null, 'another view of a stored image');
  assert.equal(again.read('flickr8k:train/k9', 0), null);
  assert.deepEqual([again.stats.hits, again.stats.misses, again.stats.damagedChunks], [6, 2, 0]);
  again.close();
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'key.json'), 'utf8')), KEY);
});

test('a truncated chunk is detected, counted and removed when the store opens; its views become misses to compute again', () => {
  const dir = tempDir();
  filled(dir, 8);
  const [first, second] = chunks(dir).sort();
  truncateSync(first!, 100);
  const store = FeatureStore.open(dir, KEY, { entryBytes: ENTRY });
  assert.equal(store.stats.damagedChunks, 1);
  assert.equal(store.stats.found, 4, 'the whole chunk is still read');
  assert.ok(!existsSync(first!) && existsSync(second!));
  const missing = [...Array(8).keys()].filter((i) => store.read(`flickr8k:train/k${i}`, i % 2) === null);
  assert.equal(missing.length, 4);
  for (const i of missing) store.put(`flickr8k:train/k${i}`, i % 2, bytesOf(i)); // recomputed
  store.close();
  const healed = FeatureStore.open(dir, KEY, { entryBytes: ENTRY });
  assert.deepEqual([healed.stats.found, healed.stats.damagedChunks], [8, 0]);
  healed.close();
});

test('an entry whose bytes changed fails its crc32 on reading: counted, dropped, and written again when recomputed', () => {
  const dir = tempDir();
  filled(dir, 4);
  const [file] = chunks(dir);
  const bytes = readFileSync(file!);
  bytes[bytes.length - 1] ^= 0xff; // the last entry's last byte
  writeFileSync(file!, bytes);
  const store = FeatureStore.open(dir, KEY, { entryBytes: ENTRY });
  assert.equal(store.stats.found, 4, 'the header is whole: the damage shows only when the entry is read');
  assert.deepEqual(store.read('flickr8k:train/k0', 0), bytesOf(0));
  assert.equal(store.read('flickr8k:train/k3', 1), null);
  assert.equal(store.stats.damagedEntries, 1);
  store.put('flickr8k:train/k3', 1, bytesOf(3));
  store.close();
  const again = FeatureStore.open(dir, KEY, { entryBytes: ENTRY });
  assert.deepEqual(again.read('flickr8k:train/k3', 1), bytesOf(3), 'the new chunk comes after the damaged one');
  again.close();
});

test('a folder written under another key is refused in one line naming the field', () => {
  const dir = tempDir();
  filled(dir, 2);
  const error = (() => {
    try {
      FeatureStore.open(dir, { ...KEY, views: 4 }, { entryBytes: ENTRY });
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  assert.ok(error !== null);
  assert.match(error.message, /^feature cache .* holds features of another setup \(views: 4 here, 2 in the folder\): delete the folder or use another cache folder$/);
  assert.ok(!error.message.includes('\n'));
  const unkeyed = tempDir();
  filled(unkeyed, 2);
  writeFileSync(path.join(unkeyed, 'key.json'), JSON.stringify({ format: 0 }));
  assert.throws(() => FeatureStore.open(unkeyed, KEY, { entryBytes: ENTRY }), /\(format: 1 here, 0 in the folder\)/);
});

test('a temporary left by a killed writer is removed; an entry of the wrong size is refused', () => {
  const dir = tempDir();
  filled(dir, 2);
  const stale = path.join(dir, '.x.chunk.999999.tmp');
  writeFileSync(stale, 'half a chunk');
  const store = FeatureStore.open(dir, KEY, { entryBytes: ENTRY });
  assert.ok(!existsSync(stale));
  assert.throws(() => store.put('flickr8k:train/k9', 0, new Uint8Array(3)), /3 bytes for flickr8k:train\/k9 view 0, 64 expected/);
  store.close();
});
