// Listing folders of loose files the way the field's image-folder loaders do
// (torchvision ImageFolder, Keras image_dataset_from_directory): names in a
// fixed order whatever the file system returns, hidden entries (".DS_Store",
// ".git") left out, images known by their extension, symbolic links followed.
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../captions.js';
import { imageExtension } from './file-samples.js';

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(imageExtension(name));
}

/** Unicode code-point order of the NFC forms (Python's sorted()), so a listing is the same on every system. */
export function compareNames(a: string, b: string): number {
  const x = [...a.normalize('NFC')];
  const y = [...b.normalize('NFC')];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const isHidden = (name: string): boolean => name.startsWith('.');

function isDirectory(dir: string, entry: Dirent): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try { return statSync(path.join(dir, entry.name)).isDirectory(); } catch { return false; }
}

/** The visible entries of a folder, sorted: its sub-folders and its other entries (files). */
export function readFolder(dir: string): { folders: string[]; files: string[] } {
  const entries = readdirSync(dir, { withFileTypes: true }).filter((e) => !isHidden(e.name));
  entries.sort((a, b) => compareNames(a.name, b.name));
  const folders: string[] = [];
  const files: string[] = [];
  for (const entry of entries) (isDirectory(dir, entry) ? folders : files).push(entry.name);
  return { folders, files };
}

/**
 * Every visible file under dir, as paths relative to it ("a/b.jpg", forward
 * slashes), folder by folder in sorted order. A link back to a folder
 * already listed (a loop) is not followed again.
 */
export function walkFiles(dir: string, prefix = '', seen = new Set<string>()): string[] {
  const here = path.join(dir, prefix);
  const real = realpathSync(here);
  if (seen.has(real)) return [];
  seen.add(real);
  const { folders, files } = readFolder(here);
  const out = files.map((f) => prefix + f);
  for (const folder of folders) out.push(...walkFiles(dir, `${prefix}${folder}/`, seen));
  return out;
}
