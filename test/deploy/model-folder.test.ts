// A deployed model folder read on Node (file system) and as the browser
// reads it (fetch, over a local HTTP server and over a stubbed fetch): the
// same bytes give the same description, and a missing or broken file gives
// one line naming the folder and the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { defaultModelDir } from '../../src/bundle/bundle.js';
import { loadModelFolder, type LoadedModelFolder } from '../../src/deploy/folder-loader.js';
import { fetchFolderReader } from '../../src/deploy/folder-read-fetch.js';
import { fsFolderReader } from '../../src/deploy/folder-read-fs.js';
import { parseModelFolder, templatesFor, type ModelFolderContents } from '../../src/deploy/model-folder.js';
import { deployedFileNames, MODEL_FILES } from '../../src/models/folder-layout.js';

const HINT = 'serve the folder';
const STUB_URL = 'http://stub.invalid/model/';

/** The default model's deployed files, read once, by name. */
const served = new Map(deployedFileNames().map((name) => [name, new Uint8Array(readFileSync(path.join(defaultModelDir(), name)))]));

/** A fetch that serves `files` under STUB_URL and answers 404 for anything else. */
function stubFetch(files: Map<string, Uint8Array<ArrayBuffer>>): (url: URL) => Promise<Response> {
  return async (url) => {
    const bytes = url.href.startsWith(STUB_URL) ? files.get(url.href.slice(STUB_URL.length)) : undefined;
    return bytes === undefined ? new Response(null, { status: 404 }) : new Response(bytes);
  };
}

const loadStubbed = (files: Map<string, Uint8Array<ArrayBuffer>>): Promise<LoadedModelFolder> =>
  loadModelFolder(fetchFolderReader(STUB_URL, { hint: HINT, fetch: stubFetch(files) }));

function serveDir(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    try {
      res.writeHead(200).end(readFileSync(path.join(dir, path.basename(req.url ?? ''))));
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/model` });
  }));
}

/** What a description says, without the bytes it was read from and the reader's own label. */
function described(folder: LoadedModelFolder): Record<string, unknown> {
  const { generator, encoder, tokenizer, sourceModel, ...rest } = folder;
  return {
    ...rest, name: sourceModel.slice(0, sourceModel.indexOf(' (')),
    generatorBytes: generator.byteLength, encoderBytes: encoder.byteLength,
    tokenizer: { name: tokenizer.name, vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength },
  };
}

function assertOneLine(error: unknown, pattern: RegExp): true {
  const message = (error as Error).message;
  assert.doesNotMatch(message, /\n/, 'one line');
  assert.match(message, pattern);
  return true;
}

test('a folder read from disk and fetched over HTTP or a stubbed fetch is described the same', async () => {
  const dir = defaultModelDir();
  const config = JSON.parse(readFileSync(path.join(dir, MODEL_FILES.config), 'utf8')) as { config: { name: string }; extra: { preprocess: unknown } };
  const fromDisk = await loadModelFolder(fsFolderReader(dir, HINT));
  assert.equal(fromDisk.name, config.config.name);
  assert.equal(fromDisk.sourceModel, `${config.config.name} (default)`);
  assert.deepEqual(fromDisk.preprocess, config.extra.preprocess);
  assert.equal(fromDisk.card, readFileSync(path.join(dir, MODEL_FILES.card), 'utf8'));
  assert.deepEqual(templatesFor(fromDisk), ['a photo of a {}.']);
  assert.equal(fromDisk.templateCount, 1);

  const { server, url } = await serveDir(dir);
  try {
    const fetched = await loadModelFolder(fetchFolderReader(url, { hint: HINT }));
    assert.equal(fetched.sourceModel, `${config.config.name} (${url}/)`);
    assert.deepEqual(described(fetched), described(fromDisk));
    assert.deepEqual(fetched.generator, fromDisk.generator);
    assert.deepEqual(fetched.encoder, fromDisk.encoder);
  } finally {
    server.close();
  }
  assert.deepEqual(described(await loadStubbed(served)), described(fromDisk));
});

test('a missing file is one line naming it, the folder and what to do, from either reader', async () => {
  const withoutConfig = new Map(served);
  withoutConfig.delete(MODEL_FILES.config);
  await assert.rejects(loadStubbed(withoutConfig),
    { message: `model file config.json is missing at ${STUB_URL} (HTTP 404): ${HINT}` });

  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-folder-'));
  try {
    for (const name of deployedFileNames().filter((n) => n !== MODEL_FILES.tokenizer)) symlinkSync(path.join(defaultModelDir(), name), path.join(dir, name));
    await assert.rejects(loadModelFolder(fsFolderReader(dir, HINT)),
      { message: `model file tokenizer.json is missing at ${dir} (no such file): ${HINT}` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Only the card may be absent.
  const withoutCard = new Map(served);
  withoutCard.delete(MODEL_FILES.card);
  assert.equal((await loadStubbed(withoutCard)).card, '');
});

test('a server error or an unreachable folder is one line too', async () => {
  const failing = fetchFolderReader(STUB_URL, { hint: HINT, fetch: async () => new Response(null, { status: 500 }) });
  await assert.rejects(loadModelFolder(failing), { message: `model file generator.onnx is missing at ${STUB_URL} (HTTP 500): ${HINT}` });
  const offline = fetchFolderReader(STUB_URL, { hint: HINT, fetch: async () => { throw new TypeError('fetch failed'); } });
  await assert.rejects(loadModelFolder(offline), { message: `model file generator.onnx could not be fetched from ${STUB_URL} (fetch failed): ${HINT}` });
});

test('bad JSON, a broken ONNX file or pieces that do not fit: one line naming the file', async () => {
  const text = (value: string) => new TextEncoder().encode(value);
  const contents = (): ModelFolderContents => ({
    generator: served.get(MODEL_FILES.generator)!, encoder: served.get(MODEL_FILES.encoder)!,
    tokenizer: served.get(MODEL_FILES.tokenizer)!, config: served.get(MODEL_FILES.config)!, card: null,
  });
  const where = 'models/x';
  const refusals: [Partial<ModelFolderContents>, RegExp][] = [
    [{ config: text('{"config": {"name": "x"},\n') }, /^model file config\.json at models\/x is not valid JSON \(.+\)$/],
    [{ config: text('[1, 2]') }, /^model file config\.json at models\/x is not a JSON object: it is not a hyperclip model config$/],
    [{ config: text('{"extra": {"preprocess": {"mean": [0.5]}}}') }, /^model file config\.json at models\/x has an extra\.preprocess\.mean that is not three numbers/],
    [{ tokenizer: text('not json') }, /^model file tokenizer\.json at models\/x is not valid JSON/],
    [{ generator: text('not onnx') }, /^model file generator\.onnx at models\/x cannot be read: not an ONNX model/],
    [{ encoder: served.get(MODEL_FILES.generator)! }, /^model file encoder\.onnx at models\/x is not a hyperclip conditioned encoder: write it with `hyperclip export-onnx`$/],
  ];
  const tokenizer = JSON.parse(new TextDecoder().decode(served.get(MODEL_FILES.tokenizer))) as { contextLength: number };
  refusals.push([{ tokenizer: text(JSON.stringify({ ...tokenizer, contextLength: 16 })) },
    /^model file generator\.onnx at models\/x reads 32 tokens per prompt but tokenizer\.json makes 16: re-export it/]);
  for (const [change, pattern] of refusals) {
    assert.throws(() => parseModelFolder({ ...contents(), ...change }, where), (err) => assertOneLine(err, pattern), String(pattern));
  }

  // A config without a name: the generator's record of it.
  const unnamed = parseModelFolder({ ...contents(), config: text('{}') }, where);
  assert.equal(unnamed.name, 'mnv2-hyperclip');
  assert.equal(unnamed.preprocess.size, unnamed.imageSize);
});

test('templates: the caller\'s, else the generator\'s, else one line saying how many to give', () => {
  const recorded = { templates: ['a photo of a {}.'], templateCount: 1 };
  assert.deepEqual(templatesFor(recorded), ['a photo of a {}.']);
  assert.deepEqual(templatesFor(recorded, ['a {}.']), ['a {}.']);
  assert.throws(() => templatesFor({ templates: null, templateCount: 3 }),
    { message: 'generator.onnx does not record its 3 prompt templates: pass 3 templates or re-export it with `hyperclip export-onnx`' });
  assert.deepEqual(templatesFor({ templates: null, templateCount: 3 }, ['a {}.', 'the {}.', 'one {}.']), ['a {}.', 'the {}.', 'one {}.']);
});

test('the layout table names every file once; the deployed files are the ones the loaders read', () => {
  const names = Object.values(MODEL_FILES);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(deployedFileNames(), ['generator.onnx', 'encoder.onnx', 'tokenizer.json', 'config.json', 'MODEL_CARD.md']);
});
