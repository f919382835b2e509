// The labelled images few-shot learning may use: the first images of each
// class in the training shards (training shards are stored shuffled, so the
// first n of a class are a random n), set aside in draws of up to maxShots
// per class; a k-shot set is the first k of a draw (shot sets are nested).
import { imageMember, iterateSamples } from '../data/index.js';

export interface ShotPool {
  /** Encoded images, grouped by nothing: pool order. */
  images: Uint8Array[];
  labels: Int32Array;
  /** Pool indices of each class, in reading order. */
  byClass: number[][];
}

/** Reads shards until every class has perClass images; one clear line names a class that has too few. */
export async function readShotPool(shards: string[], classNames: string[], perClass: number, onProgress?: (read: number) => void): Promise<ShotPool> {
  const K = classNames.length;
  const byClass: number[][] = classNames.map(() => []);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  let full = 0, read = 0;
  for await (const sample of iterateSamples(shards)) {
    read++;
    if (read % 5000 === 0) onProgress?.(read);
    const label = Number(sample.members.get('cls')?.toString('utf8').trim());
    const image = imageMember(sample);
    if (!Number.isInteger(label) || label < 0 || label >= K || image === undefined) continue;
    if (byClass[label]!.length >= perClass) continue;
    byClass[label]!.push(images.length);
    images.push(image);
    labels.push(label);
    if (byClass[label]!.length === perClass && ++full === K) break;
  }
  const short = byClass.findIndex((list) => list.length < perClass);
  if (short >= 0) {
    throw new Error(`class "${classNames[short]}" has only ${byClass[short]!.length} labelled images in the training shards, ` +
      `fewer than the ${perClass} needed (largest shot count x draws): lower --shots or --draws`);
  }
  return { images, labels: Int32Array.from(labels), byClass };
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
