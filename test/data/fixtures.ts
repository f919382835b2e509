// Small WebDataset shards written by the tests themselves into a temp dir.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import * as tar from 'tar-stream';

export type Members = Record<string, Buffer | string>;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hyperclip-data-'));
}

/** A tar archive (in memory: test shards are a few KB) of samples keyed by name. */
export async function tarBytes(samples: Record<string, Members>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [key, members] of Object.entries(samples)) {
    for (const [extension, body] of Object.entries(members)) {
      pack.entry({ name: `${key}.${extension}` }, typeof body === 'string' ? Buffer.from(body) : body);
    }
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function writeShard(dir: string, name: string, samples: Record<string, Members>): Promise<string> {
  const bytes = await tarBytes(samples);
  const path = join(dir, name);
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(bytes) : bytes);
  return path;
}

/** A valid JPEG of one flat colour, or of a left/right split when `split` is set. */
export async function jpeg(width: number, height: number, rgb: [number, number, number], split = false): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dark = split && x >= width / 2;
      for (let c = 0; c < 3; c++) pixels[(y * width + x) * 3 + c] = dark ? 0 : rgb[c];
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}

/** A JPEG whose entropy-coded data is cut off and overwritten: sharp must reject it. */
export async function corruptJpeg(): Promise<Buffer> {
  const good = await jpeg(16, 16, [200, 10, 10]);
  const bad = Buffer.from(good.subarray(0, Math.floor(good.length / 2)));
  bad.fill(0xff, 200);
  return bad;
}

/** N labelled samples "s000".."sNNN" with valid JPEGs and a .cls index. */
export async function labelledSamples(prefix: string, count: number, size = 8): Promise<Record<string, Members>> {
  const samples: Record<string, Members> = {};
  for (let i = 0; i < count; i++) {
    const image = await jpeg(size, size, [(i * 37) % 256, (i * 91) % 256, (i * 13) % 256]);
    samples[`${prefix}${String(i).padStart(3, '0')}`] = { jpg: image, cls: String(i % 3) };
  }
  return samples;
}
