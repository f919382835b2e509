// A pass-through stage in front of the tar parser that survives corrupt
// headers. It follows the archive's structure (each 512-byte header says how
// many data bytes follow it); a header whose checksum fails is dropped with
// the bytes after it, up to the next block that is a valid ustar header
// (magic and checksum), found byte by byte so that a shifted archive
// resyncs too. In place of what it dropped it emits a marker header, so the
// parser downstream reports the loss in order, between the entries around it.
import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;
const MAGIC_OFFSET = 257;
const MAGIC = Buffer.from('ustar');
/** Neither a ustar nor a GNU type: the parser passes it on as an entry of unknown type. */
const MARKER_TYPEFLAG = 'R';
const MARKER_NAME = '.hyperclip-resync';

export interface ResyncEvent {
  /** Offset in the (uncompressed) tar of the first byte dropped. */
  offset: number;
  /** Bytes dropped. */
  skipped: number;
  /** Member names read from the dropped headers (corrupt, so possibly garbled): the members lost. */
  lostNames: string[];
}

/** The header checksum: every byte summed, the checksum field counted as spaces. */
function checksum(buf: Buffer, at: number): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[at + i]!;
  for (let i = 156; i < BLOCK; i++) sum += buf[at + i]!;
  return sum;
}

function octal(buf: Buffer, at: number, length: number): number {
  const text = buf.toString('latin1', at, at + length).replace(/[\0 ]+$/, '').replace(/^[ 0]+/, '');
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
}

/** The 12-byte size field: octal, or base-256 when its first byte has the high bit. */
function sizeField(buf: Buffer, at: number): number {
  if (buf[at + 124]! === 0x80) {
    let size = 0;
    for (let i = 1; i < 12; i++) size = size * 256 + buf[at + 124 + i]!;
    return size;
  }
  return octal(buf, at + 124, 12);
}

const hasMagic = (buf: Buffer, at: number): boolean => buf.compare(MAGIC, 0, MAGIC.length, at + MAGIC_OFFSET, at + MAGIC_OFFSET + MAGIC.length) === 0;

/** An all-zero block (end of archive) by the parser's rule: nothing but the checksum field set. */
const isNullBlock = (buf: Buffer, at: number): boolean => checksum(buf, at) === 8 * 32;

/** Data bytes after a valid header, padded to whole blocks; NaN when the header is not valid. */
function dataLength(buf: Buffer, at: number): number {
  if (!hasMagic(buf, at) || checksum(buf, at) !== octal(buf, at + 148, 8)) return NaN;
  const typeflag = String.fromCharCode(buf[at + 156]!);
  const name = buf.toString('latin1', at, buf.indexOf(0, at) >= 0 && buf.indexOf(0, at) < at + 100 ? buf.indexOf(0, at) : at + 100);
  // Directories carry no data (also the old style: a regular file whose name ends in "/"), as the parser reads them.
  if (typeflag === '5' || ((typeflag === '0' || typeflag === '\0') && name.endsWith('/'))) return 0;
  const size = sizeField(buf, at);
  return Number.isFinite(size) && size >= 0 ? Math.ceil(size / BLOCK) * BLOCK : NaN;
}

function headerName(buf: Buffer, at: number): string {
  const field = (from: number, length: number) => {
    const end = buf.indexOf(0, from);
    return buf.toString('utf8', from, end >= from && end < from + length ? end : from + length);
  };
  const prefix = field(at + 345, 155);
  const name = field(at, 100);
  return prefix ? `${prefix}/${name}` : name;
}

function markerHeader(): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(MARKER_NAME, 0, 'latin1');
  block.write('0000644\0', 100, 'latin1');
  block.write('00000000000\0', 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write(MARKER_TYPEFLAG, 156, 'latin1');
  block.write('ustar\u000000', MAGIC_OFFSET, 'latin1');
  block.write(`${checksum(block, 0).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** Is this parser entry the marker of a resync (the header of one that tar-stream decoded)? */
export function isResyncMarker(header: { name: string; type: string | null }): boolean {
  return header.type === null && header.name === MARKER_NAME;
}

export class TarResync extends Transform {
  /** One per marker emitted, in order. */
  readonly events: ResyncEvent[] = [];
  private carry: Buffer = Buffer.alloc(0);
  /** Offset in the tar of carry[0]. */
  private offset = 0;
  /** Data bytes of the current member still to pass through. */
  private remaining = 0;
  private lost: ResyncEvent | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const pos = this.advance(buf);
    // The unconsumed tail is at most a block (or a scan window): copied, so the chunk can go.
    this.carry = Buffer.from(buf.subarray(pos));
    this.offset += pos;
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.lost) {
      this.lost.skipped = this.offset + this.carry.length - this.lost.offset;
      this.endLoss();
    } else if (this.carry.length > 0) {
      this.push(this.carry); // a cut header: the parser reports the truncation
    }
    done();
  }

  /** Consumes what it can of buf; returns the position of the first byte it keeps for later. */
  private advance(buf: Buffer): number {
    let pos = 0;
    for (;;) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, buf.length - pos);
        if (n > 0) this.push(buf.subarray(pos, pos + n));
        pos += n;
        this.remaining -= n;
        if (this.remaining > 0) return pos;
        continue;
      }
      if (this.lost) {
        const found = this.findHeader(buf, pos);
        if (found.at < 0) return found.keep;
        this.lost.skipped = this.offset + found.at - this.lost.offset;
        this.endLoss();
        pos = found.at;
      }
      if (buf.length - pos < BLOCK) return pos;
      const length = isNullBlock(buf, pos) ? 0 : dataLength(buf, pos);
      if (Number.isNaN(length)) {
        this.lost = { offset: this.offset + pos, skipped: 0, lostNames: [] };
        if (hasMagic(buf, pos)) this.lost.lostNames.push(headerName(buf, pos));
        pos += 1;
        continue;
      }
      this.push(buf.subarray(pos, pos + BLOCK));
      pos += BLOCK;
      this.remaining = length;
    }
  }

  /**
   * The next valid header at or after `from`, or, when there is none yet,
   * where to keep reading from once more bytes come (at < 0). Headers that
   * carry the magic but fail the checksum are lost members: their names are noted.
   */
  private findHeader(buf: Buffer, from: number): { at: number; keep: number } {
    let search = from + MAGIC_OFFSET;
    for (;;) {
      const magic = buf.indexOf(MAGIC, search);
      if (magic < 0) return { at: -1, keep: Math.max(from, buf.length - MAGIC_OFFSET - MAGIC.length + 1) };
      const at = magic - MAGIC_OFFSET;
      if (at + BLOCK > buf.length) return { at: -1, keep: at };
      if (!Number.isNaN(dataLength(buf, at))) return { at, keep: at };
      this.lost!.lostNames.push(headerName(buf, at));
      search = magic + 1;
    }
  }

  private endLoss(): void {
    this.events.push(this.lost!);
    this.lost = null;
    this.push(markerHeader());
  }
}
