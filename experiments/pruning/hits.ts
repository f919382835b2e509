// Per-image correctness kept in a record, compactly: one bit per image, so a
// report can pair two methods image by image (both classify the same images).

/** Booleans -> base64 of bits packed 8 per byte, the first image in the lowest bit. */
export function packHits(hits: ArrayLike<boolean>): string {
  const bytes = new Uint8Array(Math.ceil(hits.length / 8));
  for (let i = 0; i < hits.length; i++) if (hits[i]) bytes[i >> 3]! |= 1 << (i & 7);
  return Buffer.from(bytes).toString('base64');
}

/** The first n bits of packHits' string, 1 for a hit. */
export function unpackHits(text: string, n: number): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== Math.ceil(n / 8)) throw new Error(`a hits record of ${bytes.length} bytes cannot hold ${n} images`);
  return Uint8Array.from({ length: n }, (_, i) => (bytes[i >> 3]! >> (i & 7)) & 1);
}
