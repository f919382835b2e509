import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

const temporaryName = (file: string, pid: number) => `.${path.basename(file)}.${pid}.tmp`;

/**
 * Writes a file so that readers see either the old or the new content, never
 * a partial one: write a temporary file beside it, fsync, rename over.
 */
export function writeFileAtomic(file: string, chunks: (Uint8Array | string)[]): void {
  const tmp = path.join(path.dirname(file), temporaryName(file, process.pid));
  const fd = openSync(tmp, 'w');
  try {
    for (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let offset = 0;
      while (offset < bytes.byteLength) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

/** A JSON record written atomically, indented, with a final newline (records are committed and diffed). */
export function writeJsonAtomic(file: string, value: unknown, indent = 2): void {
  writeFileAtomic(file, [JSON.stringify(value, null, indent) + '\n']);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const TEMPORARY = /^\.(.+)\.(\d+)\.tmp$/;

/**
 * Removes the temporary files that writers killed mid-write left in `dir`
 * (only those whose writer is gone: a process still alive keeps its own).
 * With `file`, only that file's. Returns how many went.
 */
export function removeStaleTemporaries(dirOrFile: string, options: { onlyFile?: boolean } = {}): number {
  const dir = options.onlyFile ? path.dirname(dirOrFile) : dirOrFile;
  const only = options.onlyFile ? path.basename(dirOrFile) : null;
  let removed = 0;
  for (const name of readdirSync(dir)) {
    const match = TEMPORARY.exec(name);
    if (match === null || (only !== null && match[1] !== only)) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
