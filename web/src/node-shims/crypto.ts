// Browser stand-in for node:crypto (see unavailable.ts): only a tokenizer's
// fingerprint hashes, and the page does not ask for it.
import { unavailable } from './unavailable.js';

export const createHash = unavailable('node:crypto createHash');
export default { createHash };
