// A few real CIFAR-10 test images from the shared data, one per class, for
// parity tests on real pixels.
import path from 'node:path';
import { dataRoot } from '../../src/data/datasets.js';
import { readShard } from '../../src/data/webdataset/reader.js';

/** Encoded JPEG bytes of the first image of each of `count` classes in the CIFAR-10 test shard. */
export async function cifarImages(count: number): Promise<{ key: string; jpeg: Uint8Array }[]> {
  const shard = path.join(dataRoot(), 'cifar10', 'test-000000.tar.gz');
  const seen = new Set<string>();
  const out: { key: string; jpeg: Uint8Array }[] = [];
  for await (const sample of readShard(shard)) {
    const jpeg = sample.members.get('jpg');
    const label = sample.key.split('_').slice(1, -1).join('_');
    if (jpeg === undefined || seen.has(label)) continue;
    seen.add(label);
    out.push({ key: sample.key, jpeg });
    if (out.length === count) break;
  }
  if (out.length < count) throw new Error(`only ${out.length} CIFAR-10 classes found in ${shard}`);
  return out;
}
