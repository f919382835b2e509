// What a deployed model folder says about itself, read from the files'
// contents alone: no file system and no fetch, so Node (folder-read-fs.ts)
// and the browser (folder-read-fetch.ts) hand the same bytes to the same
// parser and cannot disagree on defaults or on whether the pieces fit.
// Every refusal is one line naming the folder and the file.
import { SIMPLE_TEMPLATES } from '../data/captions.js';
import { evalPreprocess, type PreprocessSpec } from '../data/preprocess.js';
import { BpeTokenizer } from '../data/tokenizer/bpe-tokenizer.js';
import { checkTemplates } from '../eval/prompt-lists.js';
import { MODEL_FILES } from '../models/folder-layout.js';
import { readOnnxInfo, type OnnxInfo } from './onnx/read.js';

/** The files generation without libtorch reads, as read: bytes, and null for an absent model card. */
export interface ModelFolderContents {
  generator: Uint8Array;
  encoder: Uint8Array;
  tokenizer: Uint8Array;
  config: Uint8Array;
  card: Uint8Array | null;
}

/** A deployed model folder, checked: its pieces fit together. */
export interface ModelFolder {
  /** The model's name, as config.json records it. */
  name: string;
  generator: Uint8Array;
  encoder: Uint8Array;
  tokenizer: BpeTokenizer;
  /** How many prompt templates the generator was traced for (its ids input is [classes, templates, tokens]). */
  templateCount: number;
  /**
   * The templates the generator records; "a photo of a {}." for a one-template generator that records none;
   * null when it records none for several (the caller must give them).
   */
  templates: string[] | null;
  /** The evaluation preprocessing saved in config.json, else the default for the encoder's image size. */
  preprocess: PreprocessSpec;
  /** The image size the encoder was exported for. */
  imageSize: number;
  /** The model card's text ('' when the folder has none). */
  card: string;
}

interface ConfigJson {
  config?: { name?: unknown };
  extra?: { preprocess?: Partial<PreprocessSpec> };
}

/** Parses and checks a deployed model folder's files; `where` (a path or a URL) names the folder in errors. */
export function parseModelFolder(contents: ModelFolderContents, where: string): ModelFolder {
  const fail = (file: string, problem: string): never => {
    throw new Error(`model file ${file} at ${where} ${problem}`);
  };
  const configJson = parseJson(contents.config, MODEL_FILES.config, fail);
  if (configJson === null || typeof configJson !== 'object' || Array.isArray(configJson)) fail(MODEL_FILES.config, 'is not a JSON object: it is not a hyperclip model config');
  const config = configJson as ConfigJson;
  const tokenizer = withFileError(MODEL_FILES.tokenizer, fail,
    () => new BpeTokenizer(parseJson(contents.tokenizer, MODEL_FILES.tokenizer, fail) as never, MODEL_FILES.tokenizer));
  const generatorInfo = withFileError(MODEL_FILES.generator, fail, () => readOnnxInfo(contents.generator));
  const encoderInfo = withFileError(MODEL_FILES.encoder, fail, () => readOnnxInfo(contents.encoder));

  const { templateCount, tokens } = promptShape(generatorInfo, fail);
  const templates = recordedTemplates(generatorInfo, templateCount, fail);
  if (tokens !== tokenizer.contextLength) {
    fail(MODEL_FILES.generator, `reads ${tokens} tokens per prompt but ${MODEL_FILES.tokenizer} makes ${tokenizer.contextLength}: re-export it with \`hyperclip export-onnx\``);
  }
  const imageSize = encoderImageSize(encoderInfo, fail);
  const generatorName = generatorInfo.metadata['hyperclip.model'];
  const configName = config.config?.name;
  return {
    // Both record the model config's name; config.json is the model's own record, the generator's copy covers a hand-made config.
    name: typeof configName === 'string' ? configName : generatorName ?? 'unnamed model',
    generator: contents.generator,
    encoder: contents.encoder,
    tokenizer,
    templateCount,
    templates,
    preprocess: savedPreprocess(config.extra?.preprocess, imageSize, fail),
    imageSize,
    card: contents.card === null ? '' : new TextDecoder().decode(contents.card),
  };
}

/** The templates to generate with: the caller's, else the generator's own; one line when neither exists. */
export function templatesFor(folder: Pick<ModelFolder, 'templates' | 'templateCount'>, given?: string[]): string[] {
  if (given !== undefined) return given;
  if (folder.templates !== null) return folder.templates;
  throw new Error(`${MODEL_FILES.generator} does not record its ${folder.templateCount} prompt templates: pass ${folder.templateCount} templates or re-export it with \`hyperclip export-onnx\``);
}

type Fail = (file: string, problem: string) => never;

function parseJson(bytes: Uint8Array, file: string, fail: Fail): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return fail(file, `is not valid JSON (${oneLine((err as Error).message)})`);
  }
}

/** Runs a reader of one file, turning its error into the folder's one line. */
function withFileError<T>(file: string, fail: Fail, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if ((err as Error).message.startsWith(`model file ${file} at `)) throw err;
    return fail(file, `cannot be read: ${oneLine((err as Error).message)}`);
  }
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The generator's ids input [classes, templates, tokens]: the template count and the tokens per prompt. */
function promptShape(info: OnnxInfo, fail: Fail): { templateCount: number; tokens: number } {
  const ids = info.inputs.find((v) => v.name === 'ids');
  const [, templateCount, tokens] = ids?.dims ?? [];
  if (ids === undefined || ids.dims.length !== 3 || typeof templateCount !== 'number' || typeof tokens !== 'number') {
    return fail(MODEL_FILES.generator, 'has no ids input [classes, templates, tokens]: re-export it with `hyperclip export-onnx`');
  }
  const recordedCount = info.metadata['hyperclip.template_count'];
  if (recordedCount !== undefined && Number(recordedCount) !== templateCount) {
    fail(MODEL_FILES.generator, `records ${recordedCount} prompt templates but its ids input takes ${templateCount}: re-export it with \`hyperclip export-onnx\``);
  }
  return { templateCount, tokens };
}

function recordedTemplates(info: OnnxInfo, templateCount: number, fail: Fail): string[] | null {
  const recorded = info.metadata['hyperclip.templates'];
  if (recorded === undefined) return templateCount === 1 ? [...SIMPLE_TEMPLATES] : null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(recorded);
  } catch {
    return fail(MODEL_FILES.generator, 'records prompt templates that are not valid JSON: re-export it with `hyperclip export-onnx`');
  }
  const templates = withFileError(MODEL_FILES.generator, fail, () => checkTemplates(parsed, 'its recorded templates'));
  if (templates.length !== templateCount) {
    fail(MODEL_FILES.generator, `averages over ${templateCount} prompt templates but records ${templates.length}: re-export it with \`hyperclip export-onnx\``);
  }
  return templates;
}

function encoderImageSize(info: OnnxInfo, fail: Fail): number {
  if (info.metadata['hyperclip.kind'] !== 'conditioned-encoder') {
    fail(MODEL_FILES.encoder, 'is not a hyperclip conditioned encoder: write it with `hyperclip export-onnx`');
  }
  const size = Number(info.metadata['hyperclip.image_size']);
  if (!Number.isInteger(size) || size < 1) fail(MODEL_FILES.encoder, 'has no hyperclip.image_size metadata: write it with `hyperclip export-onnx`');
  return size;
}

function savedPreprocess(saved: Partial<PreprocessSpec> | undefined, imageSize: number, fail: Fail): PreprocessSpec {
  if (saved === undefined) return evalPreprocess(imageSize);
  for (const key of ['mean', 'std'] as const) {
    const value = saved[key];
    if (value !== undefined && !(Array.isArray(value) && value.length === 3 && value.every((v) => Number.isFinite(v)))) {
      fail(MODEL_FILES.config, `has an extra.preprocess.${key} that is not three numbers: save the model again`);
    }
  }
  return { ...evalPreprocess(imageSize), ...saved };
}
