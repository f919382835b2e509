// An image folder: photos/cat/*.jpg, photos/dog/*.jpg (torchvision
// ImageFolder, Keras image_dataset_from_directory). Class names are the
// folder names in sorted order, underscores read as spaces; given class
// names (Keras' class_names) must name exactly the folders and set the
// label order. A plain folder of images (no class folders) or a text file
// listing image paths is unlabelled: calibration images.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../captions.js';
import { SkipCounter } from '../webdataset/skip-counter.js';
import type { FileList, FileSample } from './file-samples.js';
import { isImageFile, readFolder, walkFiles } from './listing.js';

export interface ImageFolder {
  classnames: string[];
  list: FileList;
}

const IMAGE_KINDS = IMAGE_EXTENSIONS.map((e) => `.${e}`).join(', ');

/** A class folder's name as a class name: underscores read as spaces (as in the shipped datasets), NFC, single spaces. */
export function folderClassname(folder: string): string {
  return folder.replaceAll('_', ' ').normalize('NFC').replace(/\s+/gu, ' ').trim();
}

function labelOrder(dir: string, folderNames: string[], given: string[] | undefined): string[] {
  if (given === undefined) return folderNames;
  const wanted = given.map(folderClassname);
  const missing = wanted.filter((n) => !folderNames.includes(n));
  const extra = folderNames.filter((n) => !wanted.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [missing.length > 0 ? `no folder for ${missing.map((n) => `"${n}"`).join(', ')}` : '',
      extra.length > 0 ? `folders not in the list: ${extra.map((n) => `"${n}"`).join(', ')}` : ''].filter((p) => p !== '');
    throw new Error(`the class names given do not match the class folders of ${dir} (${parts.join('; ')}): ` +
      'list every folder once, or leave the class names out to use the folder names');
  }
  return wanted;
}

/** Lists an image folder; throws one line for a folder without class folders or a class folder without images. */
export function listImageFolder(dir: string, classnames?: string[]): ImageFolder {
  const { folders, files } = readFolder(dir);
  const skipped = new SkipCounter();
  for (const f of files) if (isImageFile(f)) skipped.add('outside_class_folder', path.join(dir, f));
  if (folders.length === 0) throw new Error(`${dir} has no class folders: put each class's images in a folder named after it (${path.join(dir, 'cat', '1.jpg')})`);
  const names = folders.map(folderClassname);
  names.forEach((n, i) => {
    const twin = names.indexOf(n);
    if (twin !== i) throw new Error(`class folders "${folders[twin]}" and "${folders[i]}" of ${dir} name the same class "${n}": merge or rename them`);
  });
  const order = labelOrder(dir, names, classnames);
  const samples: FileSample[] = [];
  order.forEach((name, label) => {
    const folder = folders[names.indexOf(name)]!;
    const inside = walkFiles(path.join(dir, folder));
    const images = inside.filter(isImageFile);
    if (images.length === 0) {
      const others = inside.length > 0 ? ` (only ${inside.length} other file(s), e.g. ${inside[0]})` : '';
      throw new Error(`class folder ${path.join(dir, folder)} holds no images${others}: add its images (${IMAGE_KINDS}) or remove the folder`);
    }
    for (const f of inside) if (!isImageFile(f)) skipped.add('not_an_image', path.join(dir, folder, f));
    for (const f of images) samples.push({ key: `${folder}/${f}`, path: path.join(dir, folder, f), label });
  });
  return { classnames: order, list: { origin: dir, files: samples, skipped } };
}

/** The images at the top of a plain folder (no class folders), unlabelled. */
export function listImages(dir: string): FileList {
  const { files } = readFolder(dir);
  const skipped = new SkipCounter();
  const samples: FileSample[] = [];
  for (const f of files) {
    if (isImageFile(f)) samples.push({ key: f, path: path.join(dir, f) });
    else skipped.add('not_an_image', path.join(dir, f));
  }
  if (samples.length === 0) throw new Error(`${dir} holds no images (${IMAGE_KINDS}): give a folder of images or of class folders`);
  return { origin: dir, files: samples, skipped };
}

/** A text file of image paths, one a line (relative to the file; blank lines and # comments ignored), unlabelled. */
export function listImageListFile(file: string): FileList {
  const base = path.dirname(file);
  const skipped = new SkipCounter();
  const samples: FileSample[] = [];
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    const entry = line.trim();
    if (entry === '' || entry.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    const full = path.resolve(base, entry);
    if (!isImageFile(entry)) skipped.add('not_an_image', `${where} ${entry}`);
    else if (!existsSync(full)) skipped.add('missing_file', `${where} ${entry}`);
    else samples.push({ key: `${i + 1}:${entry}`, path: full });
  });
  if (samples.length === 0) {
    throw new Error(`${file} lists no existing image files (${skipped.summary()}): give one image path a line, relative to the list file`);
  }
  return { origin: file, files: samples, skipped };
}
