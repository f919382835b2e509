// What bench:deploy feeds the models it times: ImageNet class names, seeded
// pseudo-random images, and a generated classifier opened on onnxruntime-node
// with images at its resolution.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dataRoot } from '../../src/data/index.js';
import { readDeployFiles } from '../../src/deploy/deploy-files.js';
import { readOnnxModelFiles } from '../../src/deploy/generate-folder.js';
import { templatesFor } from '../../src/deploy/model-folder.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { openRunner } from '../../src/deploy/runtime/node.js';
import type { FeedTensor, InferenceRunner } from '../../src/deploy/runtime/session.js';

/** A generated classifier open on onnxruntime-node, with pseudo-random images at its resolution. */
export interface OpenClassifier {
  runner: InferenceRunner;
  kb: number;
  one: FeedTensor; // [1, 3, S, S]
  batch: FeedTensor; // [64, 3, S, S]
}

/** The first n ImageNet class names; the list's few repeated names ("crane", "maillot") get a suffix so every name is unique. */
export function imagenetNames(n: number): string[] {
  const file = path.join(dataRoot(), 'prompts', 'imagenet_classes.json');
  const all = JSON.parse(readFileSync(file, 'utf8')) as string[];
  if (all.length < n) throw new Error(`${file} holds ${all.length} class names, fewer than ${n}`);
  const seen = new Map<string, number>();
  return all.slice(0, n).map((name) => {
    const count = (seen.get(name.toLowerCase()) ?? 0) + 1;
    seen.set(name.toLowerCase(), count);
    return count === 1 ? name : `${name} (${count})`;
  });
}

/** Seeded pseudo-random normalised pixels [n, 3, S, S]: latency does not depend on image content. */
export function pixels(n: number, size: number): Float32Array {
  const out = new Float32Array(n * 3 * size * size);
  let state = 12345;
  for (let i = 0; i < out.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = (state / 2 ** 32) * 4 - 2;
  }
  return out;
}

/** The prompt templates the folder's generator was exported with (by the same rule as generation's default). */
export async function templatesOf(deployDir: string): Promise<string[]> {
  return templatesFor(await readOnnxModelFiles(deployDir));
}

export const imageSizeOf = (deployDir: string): number => Number(readOnnxInfo(readDeployFiles(deployDir).encoder).metadata['hyperclip.image_size']);

export async function openClassifier(bytes: Uint8Array, size: number): Promise<OpenClassifier> {
  return {
    runner: await openRunner(bytes), kb: bytes.byteLength / 1024,
    one: { data: pixels(1, size), dims: [1, 3, size, size] }, batch: { data: pixels(64, size), dims: [64, 3, size, size] },
  };
}

export const classifyWith = (c: OpenClassifier, image: FeedTensor): Promise<unknown> => c.runner.run({ [c.runner.inputNames[0]!]: image });
