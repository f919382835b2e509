// A model part that stays as it was imported (a locked pretrained image
// encoder) is saved as a reference to its file in the data folder, not as
// weights: the project commits only what its own training produced, and the
// loader rebuilds the part from the same file, checked by its sha256. Also
// where a .tflite file is read and imported (importMobileNetFile), for
// everything that starts from one: init, distillation, the experiments.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { noGrad, tidy, type Tensor } from '../../engine/index.js';
import { dataRoot } from '../../data/datasets.js';
import { importMobileNet, type ImportedMobileNet } from './mobilenet-tflite.js';

/** "pretrained:NAME" names a network of the data folder's pretrained/ (NAME.tflite). */
export const PRETRAINED_PREFIX = 'pretrained:';

/** The .tflite file a reference names ("pretrained:NAME" or a path ending in .tflite), or null for anything else. */
export function pretrainedFile(from: string): string | null {
  if (from.startsWith(PRETRAINED_PREFIX)) return path.join(dataRoot(), 'pretrained', `${from.slice(PRETRAINED_PREFIX.length)}.tflite`);
  return from.endsWith('.tflite') ? from : null;
}

export interface PretrainedPart {
  /** The model's parameter-name prefix the file provides, e.g. "imageEncoder". */
  part: string;
  /** "pretrained:NAME" or a .tflite path. */
  from: string;
  /** sha256 (hex) of the file the part was imported from. */
  sha256: string;
}

/** The bytes of a .tflite file; `missing` is the error when there is no such file (each caller says what to do about it). */
function readTfliteFile(file: string, missing: string): Uint8Array {
  if (!existsSync(file)) throw new Error(missing);
  return new Uint8Array(readFileSync(file));
}

/** Reads and imports a MobileNet .tflite file: `missing` is the error when there is no such file, `source` names it in the importer's errors. */
export function importMobileNetFile(file: string, missing: string, source = file): ImportedMobileNet {
  return importMobileNet(readTfliteFile(file, missing), source);
}

function readPretrained(from: string): { bytes: Uint8Array; file: string } {
  const file = pretrainedFile(from);
  if (file === null) throw new Error(`${from} is not a pretrained network reference: use "pretrained:NAME" or a .tflite path`);
  return { bytes: readTfliteFile(file, `pretrained network ${file} is missing: set HYPERCLIP_DATA to the folder holding pretrained/`), file };
}

/** The imported network's tensors under the model's names ("imageEncoder.…"), checked against the recorded sha256 when given. */
export function importedPartTensors(ref: Omit<PretrainedPart, 'sha256'> & { sha256?: string }): { tensors: Map<string, Tensor>; sha256: string } {
  if (ref.part !== 'imageEncoder') throw new Error(`a pretrained file provides the part "imageEncoder", not "${ref.part}"`);
  const { bytes, file } = readPretrained(ref.from);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (ref.sha256 !== undefined && ref.sha256 !== sha256) {
    throw new Error(`${file} is not the file this model was trained on (sha256 ${sha256.slice(0, 12)}…, expected ${ref.sha256.slice(0, 12)}…)`);
  }
  const { classifier } = importMobileNet(bytes, file);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of classifier.stateDict()) if (name.startsWith('imageEncoder.')) tensors.set(name, t);
  return { tensors, sha256 };
}

/** Whether two tensors hold exactly the same values (same shape, no tolerance). */
export function identicalTensors(a: Tensor | undefined, b: Tensor): boolean {
  return a !== undefined && a.shape.join() === b.shape.join() && noGrad(() => tidy(() => a.sub(b).abs().amax().item())) === 0;
}

/** Throws unless the model's part still equals the imported file exactly (it must have stayed frozen). */
export function checkPartUnchanged(own: Map<string, Tensor>, imported: Map<string, Tensor>, ref: { part: string; from: string }): void {
  for (const [name, t] of imported) {
    if (!identicalTensors(own.get(name), t)) throw new Error(`${name} differs from ${ref.from}: only a part that stayed frozen can be saved as a reference to its pretrained file`);
  }
}
