// A model folder on the local file system: the same reader shape as one
// over HTTP (folder-read-fetch.ts), so a local file and a fetched one reach
// the parser alike. Only a file that does not exist counts as absent.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FolderReader } from './folder-loader.js';

export function fsFolderReader(dir: string, hint: string): FolderReader {
  return {
    where: dir, label: path.basename(path.resolve(dir)), absent: 'no such file', hint,
    async read(name: string): Promise<Uint8Array | null> {
      try {
        const bytes = await readFile(path.join(dir, name));
        // A plain view of the Buffer, as fetch gives, without copying the ONNX files.
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`model file ${name} at ${dir} cannot be read (${(err as Error).message})`);
      }
    },
  };
}
