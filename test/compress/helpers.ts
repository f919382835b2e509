// Small shared pieces of the compression tests.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { saveBundle } from '../../src/bundle/bundle.js';
import { perturbHead, tempDir } from '../models/helpers.js';

/** A test-tiny model folder that names the test-tiny recipe, so compression trains on that recipe's mixture. */
export function tinyFolder(family: 'efficientnet' | 'resnet' = 'efficientnet'): string {
  manualSeed(33);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({
    preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength },
    ...(family === 'resnet' ? { image: { family: 'resnet', widthMultiplier: 0.25, headChannels: 64 } } : {}),
  });
  const model = new HyperClip(config);
  perturbHead(model);
  const dir = path.join(tempDir(), 'model');
  saveBundle(dir, model.eval(), tokenizer, { recipe: 'test-tiny' });
  return dir;
}

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

/** Runs the hyperclip command on one thread. */
export const hyperclip = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
