// Loading a deployed model folder from wherever its files are: a reader
// turns a file name into bytes (a local file, a fetched URL), and the rest
// (which files must be there, what a missing one says, parsing and fit
// checks) is the same for every reader. No Node module: the browser loads through it.
import { DEPLOYED_FILES, MODEL_FILES } from '../models/folder-layout.js';
import { parseModelFolder, type ModelFolder, type ModelFolderContents } from './model-folder.js';

/** One model folder's files, by name. */
export interface FolderReader {
  /** Where the folder is, for error lines: a path or a URL. */
  readonly where: string;
  /** How a generated classifier names the folder after the model's name: the folder's name, or its URL. */
  readonly label: string;
  /** How the reader tells an absent file, for the error line ("no such file", "HTTP 404"). */
  readonly absent: string;
  /** What to do about a missing required file. */
  readonly hint: string;
  /** The file's bytes, or null when the folder has no such file; any other failure throws one line. */
  read(name: string): Promise<Uint8Array | null>;
}

/** A checked model folder, and the source-model line its classifiers record ("NAME (folder)"). */
export interface LoadedModelFolder extends ModelFolder {
  sourceModel: string;
}

/** Reads the deployed files (all at once), then parses and checks them; one line on any failure. */
export async function loadModelFolder(reader: FolderReader): Promise<LoadedModelFolder> {
  const roles = [...DEPLOYED_FILES.required, ...DEPLOYED_FILES.optional];
  // Read together, but a failure is reported in table order: which read fails first is a race.
  const settled = await Promise.allSettled(roles.map((role) => reader.read(MODEL_FILES[role])));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const read = new Map(roles.map((role, i) => [role, (settled[i] as PromiseFulfilledResult<Uint8Array | null>).value]));
  const required = (role: (typeof DEPLOYED_FILES.required)[number]): Uint8Array => {
    const bytes = read.get(role);
    if (bytes === null || bytes === undefined) throw new Error(`model file ${MODEL_FILES[role]} is missing at ${reader.where} (${reader.absent}): ${reader.hint}`);
    return bytes;
  };
  const contents: ModelFolderContents = {
    generator: required('generator'), encoder: required('encoder'), tokenizer: required('tokenizer'), config: required('config'),
    card: read.get('card') ?? null,
  };
  const folder = parseModelFolder(contents, reader.where);
  return { ...folder, sourceModel: `${folder.name} (${reader.label})` };
}

/** What a deployed folder must hold, for hints: "generator.onnx, encoder.onnx, tokenizer.json and config.json". */
export const requiredFileList = (): string => {
  const names = DEPLOYED_FILES.required.map((role) => MODEL_FILES[role]);
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
};
