// Browser stand-in for node:url (see unavailable.ts).
import { unavailable } from './unavailable.js';

export const fileURLToPath = unavailable('node:url fileURLToPath');
export const pathToFileURL = unavailable('node:url pathToFileURL');
export default { fileURLToPath, pathToFileURL };
