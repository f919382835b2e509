// Small image folders, CSVs and lists made by the tests from real images of
// ../shared/data (CIFAR-10 test JPEGs, Flickr8k captions), with the bad input
// users' folders hold: a corrupt image, a non-image file, a hidden file, an
// image outside any class folder, non-ASCII and NFD folder names.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveDataset } from '../../src/data/datasets.js';
import { iterateSamples } from '../../src/data/webdataset/reader.js';
import { corruptJpeg } from './fixtures.js';

export interface RealImage { key: string; jpeg: Buffer; label: number; caption: string | null }

/** The first n images of a split, in stored order (CIFAR-10 test: a stable order). */
export async function realImages(n: number, dataset = 'cifar10', split = 'test'): Promise<RealImage[]> {
  const out: RealImage[] = [];
  for await (const sample of iterateSamples(resolveDataset(dataset, split).shards)) {
    const jpeg = sample.members.get('jpg')!;
    const label = Number(sample.members.get('cls')?.toString() ?? -1);
    out.push({ key: sample.key.replaceAll('/', '_'), jpeg, label, caption: sample.members.get('txt')?.toString('utf8').trim() ?? null });
    if (out.length === n) break;
  }
  return out;
}

/** Class names of the folder made by photoFolder, in code-point order of their NFC forms. */
export const FOLDER_CLASSES = ['café', 'dog breed', 'Äpfel', '猫'];

/**
 * root/{cafe\u0301 (NFD), dog_breed, Äpfel, 猫}/ with `perClass` real images each, plus a
 * corrupt JPEG (in dog_breed), a non-image file (notes.txt in 猫), a hidden
 * .DS_Store and an image at the top outside any class folder.
 * Returns the class (index in FOLDER_CLASSES) of every good image's key.
 */
export async function photoFolder(root: string, perClass: number, offset = 0): Promise<Map<string, number>> {
  const folders = ['cafe\u0301', 'dog_breed', 'Äpfel', '猫'];
  const images = await realImages(offset + perClass * folders.length);
  const truth = new Map<string, number>();
  folders.forEach((folder, c) => {
    mkdirSync(path.join(root, folder), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const image = images[offset + c * perClass + i]!;
      const name = `${image.key}.${i % 3 === 0 ? 'JPG' : 'jpg'}`;
      writeFileSync(path.join(root, folder, name), image.jpeg);
      truth.set(`${folder}/${name}`, FOLDER_CLASSES.indexOf(folder === 'cafe\u0301' ? 'café' : folder.replaceAll('_', ' ')));
    }
  });
  writeFileSync(path.join(root, 'dog_breed', 'broken.jpg'), await corruptJpeg());
  writeFileSync(path.join(root, '猫', 'notes.txt'), 'not an image\n');
  writeFileSync(path.join(root, '猫', '.DS_Store'), 'hidden');
  writeFileSync(path.join(root, 'stray.jpg'), images[0]!.jpeg);
  return truth;
}

/** A CSV field quoted as RFC 4180 says: in double quotes, inner quotes doubled. */
export const quoted = (field: string): string => `"${field.replaceAll('"', '""')}"`;
