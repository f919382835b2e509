// Text clean-up applied before pre-tokenisation: the same caption written with
// HTML entities, composed or decomposed accents, curly quotes or odd spacing
// must give the same tokens.

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ',
  ndash: '–', mdash: '—', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', hellip: '…',
};

const ENTITY = /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g;

function decodeEntity(match: string, body: string): string {
  if (body[0] === '#') {
    const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    // Code points that cannot exist stay as written rather than throwing.
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : match;
  }
  return NAMED_ENTITIES[body.toLowerCase()] ?? match;
}

/** Decodes the common HTML entities; twice, as doubly escaped text ("&amp;amp;") is frequent in scraped captions. */
export function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, decodeEntity).replace(ENTITY, decodeEntity);
}

const TYPOGRAPHIC_QUOTES = /[\u2018\u2019\u02bc\u2032]/g;

/** Entities decoded, Unicode NFC, typographic apostrophes made ASCII, white space collapsed, lower case. */
export function cleanText(text: string): string {
  let s = unescapeHtml(text).normalize('NFC');
  s = s.replace(TYPOGRAPHIC_QUOTES, "'");
  s = s.replace(/\s+/g, ' ').trim();
  return s.toLowerCase();
}

// In the spirit of CLIP's pattern: common English contractions, runs of
// letters (with their combining marks), single digits (so numbers share a
// tiny vocabulary), runs of other non-space symbols. Every non-space
// character falls in one of the classes, so nothing is silently dropped.
const PRETOKEN = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}\p{M}]+|\p{N}|[^\s\p{L}\p{M}\p{N}]+/gu;

/** Splits cleaned text into the words that BPE works on, one at a time. */
export function pretokenize(cleaned: string): string[] {
  return cleaned.match(PRETOKEN) ?? [];
}
