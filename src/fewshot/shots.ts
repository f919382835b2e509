// The labelled images few-shot learning may use: the first images of each
// class in the training data (training shards are stored shuffled, so the
// first n of a class are a random n; loose files, stored sorted, are read in
// a seeded permutation for the same reason), set aside in draws of up to
// maxShots per class; a k-shot set is the first k of a draw (shot sets are
// nested). An image that does not decode never enters the pool: it is
// counted and the next image of its class taken.
import { checkImage, PIXEL_LIMIT_MESSAGE, SampleStream, SkipCounter, streamSource, type LoaderFiles } from '../data/index.js';
import { imageMember } from '../data/index.js';

export interface ShotPool {
  /** Encoded images, grouped by nothing: pool order. */
  images: Uint8Array[];
  labels: Int32Array;
  /** Pool indices of each class, in reading order. */
  byClass: number[][];
  /** Samples passed over: unreadable or undecodable images, files passed over while listing. */
  skips: SkipCounter;
}

/** Reads the data until every class has perClass images; one clear line names a class that has too few. */
export async function readShotPool(source: LoaderFiles, classNames: string[], perClass: number, onProgress?: (read: number) => void): Promise<ShotPool> {
  const K = classNames.length;
  const byClass: number[][] = classNames.map(() => []);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  const skips = new SkipCounter();
  const stream = new SampleStream({ sources: [streamSource(source)], shuffle: source.files !== undefined, epochs: 1, seed: 0, skipCounter: skips });
  let full = 0, read = 0;
  try {
    for (let item = await stream.next(); item !== null; item = await stream.next()) {
      const { sample } = item;
      if (++read % 5000 === 0) onProgress?.(read);
      const label = Number(sample.members.get('cls')?.toString('utf8').trim());
      const image = imageMember(sample);
      if (image === undefined && sample.damaged) skips.add(sample.damaged.reason, `${sample.shard}:${sample.key} (${sample.damaged.detail})`);
      if (!Number.isInteger(label) || label < 0 || label >= K || image === undefined) continue;
      if (byClass[label]!.length >= perClass) continue;
      try {
        await checkImage(image);
      } catch (error) {
        const message = (error as Error).message;
        skips.add(message === PIXEL_LIMIT_MESSAGE ? 'image_too_large' : 'corrupt_image', `${sample.shard}:${sample.key}: ${message}`);
        continue;
      }
      byClass[label]!.push(images.length);
      images.push(image);
      labels.push(label);
      if (byClass[label]!.length === perClass && ++full === K) break;
    }
  } finally {
    await stream.close();
  }
  const short = byClass.findIndex((list) => list.length < perClass);
  if (short >= 0) {
    throw new Error(`class "${classNames[short]}" has only ${byClass[short]!.length} usable labelled images in the training data, ` +
      `fewer than the ${perClass} needed (largest shot count x draws): lower --shots or --draws (${skips.summary()})`);
  }
  return { images, labels: Int32Array.from(labels), byClass, skips };
}

/** Pool indices of a k-shot set: for each class, images [draw * maxShots, draw * maxShots + shots) of its pool list. */
export function shotIndices(pool: ShotPool, shots: number, draw: number, maxShots: number): number[] {
  if (shots > maxShots) throw new Error(`${shots} shots exceed the ${maxShots} set aside per draw`);
  return pool.byClass.flatMap((list) => list.slice(draw * maxShots, draw * maxShots + shots));
}

/** "1,2,4" -> [1, 2, 4]: positive integers, ascending, no repeats. */
export function parseShots(text: string): number[] {
  const shots = text.split(',').map((s) => Number(s.trim()));
  if (shots.length === 0 || shots.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`expected shot counts like 1,2,4,8,16 but received "${text}"`);
  if (new Set(shots).size !== shots.length) throw new Error(`shot count repeated in "${text}"`);
  return shots.sort((a, b) => a - b);
}
