// The shipped default model carries generator.onnx and encoder.onnx so that
// generation needs no libtorch. Both record the sha256 of the weights they
// were exported from: when models/default/model.safetensors changes, this
// fails until `npm run model:export` (hyperclip export-onnx --model
// models/default) writes them again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { defaultModelDir } from '../../src/bundle/bundle.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { WEIGHTS_SHA256 } from '../../src/deploy/deploy-files.js';
import { MODEL_FILES } from '../../src/models/folder-layout.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';

test('the default model ships ONNX files exported from its current weights', () => {
  const dir = defaultModelDir();
  const weights = createHash('sha256').update(readFileSync(path.join(dir, 'model.safetensors'))).digest('hex');
  const config = JSON.parse(readFileSync(path.join(dir, MODEL_FILES.config), 'utf8')) as { config: { name: string; image: { imageSize: number } } };
  const tokenizer = Tokenizer.load(path.join(dir, MODEL_FILES.tokenizer));
  for (const file of [MODEL_FILES.generator, MODEL_FILES.encoder]) {
    const info = readOnnxInfo(readFileSync(path.join(dir, file)));
    assert.equal(info.metadata[WEIGHTS_SHA256], weights,
      `models/default/${file} was exported from other weights: run \`npm run model:export\` and commit its outputs`);
    assert.equal(info.metadata['hyperclip.model'], config.config.name);
    assert.equal(Number(info.metadata['hyperclip.image_size']), config.config.image.imageSize);
  }
  const ids = readOnnxInfo(readFileSync(path.join(dir, MODEL_FILES.generator))).inputs.find((v) => v.name === 'ids');
  assert.deepEqual(ids?.dims.slice(1), [1, tokenizer.contextLength], 'the generator takes one template and the tokenizer\'s context length');
});
