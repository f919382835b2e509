// Byte-level alphabet: every byte 0..255 gets one printable Unicode character,
// so any UTF-8 byte sequence becomes a string of visible symbols and the BPE
// never meets an unknown character. Printable Latin-1 bytes keep their own
// character (tokens stay readable); the rest are shifted above U+00FF.

function printableBytes(): number[] {
  const bytes: number[] = [];
  const ranges: [number, number][] = [[0x21, 0x7e], [0xa1, 0xac], [0xae, 0xff]];
  for (const [from, to] of ranges) for (let b = from; b <= to; b++) bytes.push(b);
  return bytes;
}

function buildByteToChar(): string[] {
  const table = new Array<string>(256);
  const printable = new Set(printableBytes());
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.has(b) ? String.fromCharCode(b) : String.fromCharCode(256 + shifted++);
  }
  return table;
}

/** byteToChar[b]: the symbol standing for byte b. */
export const byteToChar: readonly string[] = buildByteToChar();

/** The inverse of byteToChar. */
export const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((ch, b) => [ch, b]));

/** Marks the last symbol of a word, so "a" inside a word and "a" ending one are different tokens. */
export const END_OF_WORD = '</w>';
