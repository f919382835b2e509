// Browser stand-in for node:fs (see unavailable.ts).
import { unavailable } from './unavailable.js';

export const existsSync = unavailable('node:fs existsSync');
export const readFileSync = unavailable('node:fs readFileSync');
export const mkdirSync = unavailable('node:fs mkdirSync');
export const openSync = unavailable('node:fs openSync');
export const closeSync = unavailable('node:fs closeSync');
export const fsyncSync = unavailable('node:fs fsyncSync');
export const writeSync = unavailable('node:fs writeSync');
export const renameSync = unavailable('node:fs renameSync');
export const rmSync = unavailable('node:fs rmSync');
export default { existsSync, readFileSync, mkdirSync, openSync, closeSync, fsyncSync, writeSync, renameSync, rmSync };
