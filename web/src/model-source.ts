// Loads the shipped model from a URL folder (default ./model/, or ?model=URL)
// and checks that its pieces fit together before anyone types a class name.
import { Tokenizer } from '../../src/data/tokenizer/tokenizer.js';
import type { TokenizerFile } from '../../src/data/tokenizer/tokenizer-file.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { CLIP_MEAN, CLIP_STD } from '../../src/data/preprocess.js';
import { checkTemplates } from '../../src/eval/templates.js';
import { DEFAULT_TEMPLATES, MODEL_FILES } from './model-files.js';

export interface WebModel {
  url: string;
  name: string;
  generator: Uint8Array;
  encoder: Uint8Array;
  tokenizer: Tokenizer;
  templates: string[];
  mean: [number, number, number];
  std: [number, number, number];
  imageSize: number;
  card: string;
}

interface ConfigFile {
  config?: { name?: string };
  extra?: { preprocess?: { size?: number; mean?: [number, number, number]; std?: [number, number, number] } };
}

/** The model folder's URL: ?model=URL on the page, else the build's VITE_MODEL_URL, else ./model/. */
export function modelUrl(location: Location): string {
  const chosen = new URLSearchParams(location.search).get('model') ?? import.meta.env.VITE_MODEL_URL ?? './model/';
  const withSlash = chosen.endsWith('/') ? chosen : `${chosen}/`;
  return new URL(withSlash, location.href).href;
}

const HOW_TO_SERVE = 'start the page with `hyperclip serve --model DIR`, or add ?model=URL naming a folder that holds ' +
  `${MODEL_FILES.generator}, ${MODEL_FILES.encoder}, ${MODEL_FILES.tokenizer} and ${MODEL_FILES.config}`;

async function fetchFile(base: string, name: string, optional: boolean): Promise<Response | null> {
  let response: Response;
  try {
    response = await fetch(new URL(name, base));
  } catch (err) {
    throw new Error(`model file ${name} could not be fetched from ${base} (${(err as Error).message}): ${HOW_TO_SERVE}`);
  }
  if (response.ok) return response;
  if (optional && response.status === 404) return null;
  throw new Error(`model file ${name} is missing at ${base} (HTTP ${response.status}): ${HOW_TO_SERVE}`);
}

const bytesOf = async (r: Response): Promise<Uint8Array> => new Uint8Array(await r.arrayBuffer());

async function jsonOf<T>(r: Response, name: string): Promise<T> {
  try {
    return (await r.json()) as T;
  } catch {
    throw new Error(`model file ${name} is not valid JSON`);
  }
}

export async function loadWebModel(url: string): Promise<WebModel> {
  // Fetched together, but a failure is reported in this order: which 404 arrives first is a race.
  const settled = await Promise.allSettled([
    fetchFile(url, MODEL_FILES.generator, false), fetchFile(url, MODEL_FILES.encoder, false),
    fetchFile(url, MODEL_FILES.tokenizer, false), fetchFile(url, MODEL_FILES.config, false),
    fetchFile(url, MODEL_FILES.card, true),
  ]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [generator, encoder, tokenizer, config, card] = settled.map((r) => (r as PromiseFulfilledResult<Response | null>).value);
  const configFile = await jsonOf<ConfigFile>(config!, MODEL_FILES.config);
  const model: WebModel = {
    url,
    name: configFile.config?.name ?? 'unnamed model',
    generator: await bytesOf(generator!),
    encoder: await bytesOf(encoder!),
    tokenizer: new Tokenizer(await jsonOf<TokenizerFile>(tokenizer!, MODEL_FILES.tokenizer), MODEL_FILES.tokenizer),
    templates: [],
    mean: configFile.extra?.preprocess?.mean ?? CLIP_MEAN,
    std: configFile.extra?.preprocess?.std ?? CLIP_STD,
    imageSize: 0,
    card: card === null ? '' : await card.text(),
  };
  model.templates = generatorTemplates(model.generator);
  model.imageSize = checkFit(model);
  return model;
}

/** The templates the generator was traced for, as it records them. */
function generatorTemplates(generator: Uint8Array): string[] {
  const info = readOnnxInfo(generator);
  const recorded = info.metadata['hyperclip.templates'];
  if (recorded !== undefined) return checkTemplates(JSON.parse(recorded), `${MODEL_FILES.generator} metadata`);
  const count = info.inputs.find((v) => v.name === 'ids')?.dims[1];
  if (count === 1) return DEFAULT_TEMPLATES;
  throw new Error(`${MODEL_FILES.generator} does not record its ${count} prompt templates: re-export it with \`hyperclip export-onnx\``);
}

/** The generator's prompt shape must match the tokenizer and the templates; returns the encoder's image size. */
function checkFit(model: WebModel): number {
  const ids = readOnnxInfo(model.generator).inputs.find((v) => v.name === 'ids');
  if (ids === undefined || ids.dims.length !== 3) throw new Error(`${MODEL_FILES.generator} has no ids input [classes, templates, tokens]: re-export it`);
  const [, templates, tokens] = ids.dims;
  if (templates !== model.templates.length) {
    throw new Error(`${MODEL_FILES.generator} averages over ${templates} prompt templates but records ${model.templates.length}: re-export it with \`hyperclip export-onnx\``);
  }
  if (tokens !== model.tokenizer.contextLength) {
    throw new Error(`${MODEL_FILES.generator} reads ${tokens} tokens per prompt but ${MODEL_FILES.tokenizer} makes ${model.tokenizer.contextLength}`);
  }
  const size = Number(readOnnxInfo(model.encoder).metadata['hyperclip.image_size']);
  if (!Number.isInteger(size) || size < 1) throw new Error(`${MODEL_FILES.encoder} has no hyperclip.image_size metadata: it is not a hyperclip encoder export`);
  return size;
}
