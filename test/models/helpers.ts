// Small shared pieces of the models tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { F, manualSeed, noGrad, randint, randn, tidy, type Tensor } from '../../src/engine/index.js';
import { HyperClip, resolveConfig, type ModelConfig, type PartialModelConfig } from '../../src/models/index.js';

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.toArray();
  const y = b.toArray();
  if (x.length !== y.length) throw new Error(`sizes differ: ${x.length} vs ${y.length}`);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
}

export function tinyModel(overrides: Omit<PartialModelConfig, 'preset'> = {}, seed = 0): { model: HyperClip; config: ModelConfig } {
  manualSeed(seed);
  const config = resolveConfig({ preset: 'test-tiny', ...overrides });
  return { model: new HyperClip(config), config };
}

/** Random images [N, 3, S, S] and token ids [N, T] whose last position holds the highest id (the end token). */
export function randomBatch(config: ModelConfig, n: number): { images: Tensor; ids: Tensor } {
  const size = config.image.imageSize;
  const { vocabSize, contextLength } = config.text;
  const images = randn([n, 3, size, size]);
  const body = randint(1, vocabSize - 1, [n, contextLength - 1]);
  const end = randint(vocabSize - 1, vocabSize, [n, 1]);
  return { images, ids: F.cat([body, end], 1) };
}

/** Gives a zero-initialised hypernetwork head small random weights, as after some training. */
export function perturbHead(model: HyperClip, std = 0.05): void {
  const head = model.hypernet!.head;
  noGrad(() => tidy(() => {
    head.weight.copy_(randn(head.weight.shape).mul(std));
    head.bias!.copy_(randn(head.bias!.shape).mul(std));
  }));
}

export const tempDir = (): string => mkdtempSync(path.join(tmpdir(), 'hyperclip-models-'));
