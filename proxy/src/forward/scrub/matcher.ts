/**
 * Finds injected secret values in bytes, in every spelling an upstream is likely to echo them
 * in, and replaces them with `[REDACTED]`.
 *
 * A secret is matched character by character, and each character may appear:
 * - raw, in the encoding it travelled in: UTF-8, or Latin-1 (Node writes a header value one
 *   byte per character, so `ä` leaves as the byte E4 and is echoed that way);
 * - percent-encoded, any subset of characters, either hex case (encodeURIComponent, WHATWG URL
 *   serialisation of a path, query or fragment, form encoding with `+` for a space, RFC 3986),
 *   as UTF-8 or Latin-1 bytes;
 * - JSON / JavaScript escaped (`\"`, `\\`, `\/`, `\n`…, `\uXXXX` including surrogate pairs,
 *   `\xHH`), as JSON.stringify, PHP or Python's ensure_ascii write it;
 * - as an HTML character reference (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#39;`,
 *   `&#x27;`…), as template engines escape it.
 * One level of escaping per character is recognised, mixed freely; a value encoded twice
 * (`%2527`), transformed (base64 of an echo, hashed, reversed, case-changed) or split by the
 * upstream is not.
 *
 * The rule is "leftmost match wins, the longest when several start at the same byte". A scan
 * of a chunk stops before the first position where a match could still be completing when more
 * bytes arrive, so a stream's output is the same whatever its chunking, and only the bytes of
 * a possible match in progress are ever held back.
 */

/** What a secret becomes in relayed response headers and bodies. */
export const REDACTED = '[REDACTED]';
export const REDACTED_BYTES = Buffer.from(REDACTED, 'latin1');

const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const AMPERSAND = 0x26;
const PLUS = 0x2b;
const SEMICOLON = 0x3b;
const HASH = 0x23;
/** The longest spelling of one character: four percent-escaped UTF-8 bytes, or a `\uXXXX\uXXXX` pair. */
const MAX_CHAR_SPELLING = 12;

/** The outcome of trying a match at one position. */
const NO_MATCH = 0;
/** The bytes ran out while a match was still possible. */
const PARTIAL = -1;

/** One secret value in one raw encoding. */
interface Pattern {
  readonly codePoints: Uint32Array;
  /** The raw bytes of each code point in this pattern's encoding. */
  readonly raw: readonly Uint8Array[];
  /** The whole value in this encoding, for the fast path. */
  readonly bytes: Buffer;
}

/** The secrets of one request, compiled for matching. */
export interface Scrubber {
  readonly patterns: readonly Pattern[];
  /** Raw spellings, longest first: a match without any escaped character is one of these. */
  readonly needles: readonly Buffer[];
  /** Length in bytes of the longest raw spelling: an escaped match has its first escape byte less than this far from its start. */
  readonly reach: number;
  /** Bytes that start an escape in some pattern (`%`, `\`, `&`, and `+` when a secret holds a space). */
  readonly escapeBytes: readonly number[];
  /** Bytes a match can start with: the escape starts and the first raw byte of every pattern. */
  readonly startBytes: Uint8Array;
  /** Bytes that `%HH` may stand for at the start of a match's percent-encoded character (the first byte of one). */
  readonly percentFirstBytes: Uint8Array;
  /** Letters after `\` whose escape spells a character of some secret (`n` when a secret holds a newline). */
  readonly shortEscapeLetters: Uint8Array;
  /** First letters of the named references (`&amp;`…) of characters some secret holds. */
  readonly namedReferenceLetters: Uint8Array;
  /** Length in bytes of the longest possible match (0 when there is nothing to scrub). */
  readonly longest: number;
  /** Length in bytes of the shortest possible match: no shorter text can hold a secret. */
  readonly shortest: number;
}

/** JSON / JavaScript single-character escapes: the letter after `\` → the character. */
const SHORT_ESCAPES = new Map<number, number>([
  [0x22, 0x22], // \"
  [0x5c, 0x5c], // \\
  [0x2f, 0x2f], // \/
  [0x27, 0x27], // \'
  [0x62, 0x08], // \b
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
]);

/** Named HTML character references an escaper writes for ASCII characters. */
const NAMED_REFERENCES = new Map<number, Buffer>([
  [0x26, Buffer.from('amp;')],
  [0x3c, Buffer.from('lt;')],
  [0x3e, Buffer.from('gt;')],
  [0x22, Buffer.from('quot;')],
  [0x27, Buffer.from('apos;')],
]);

function compilePattern(codePoints: Uint32Array, encoding: 'utf8' | 'latin1'): Pattern {
  const raw = Array.from(codePoints, (cp) => (encoding === 'latin1' ? Uint8Array.of(cp) : new Uint8Array(Buffer.from(String.fromCodePoint(cp), 'utf8'))));
  return { codePoints, raw, bytes: Buffer.concat(raw) };
}

/**
 * Compiles secret values (JavaScript strings, as injected) for matching; duplicates and empty
 * values are dropped. A value whose characters all fit in one byte and that is not plain
 * ASCII also gets its Latin-1 form.
 */
export function compileScrubber(values: readonly string[]): Scrubber {
  const patterns: Pattern[] = [];
  for (const value of new Set(values)) {
    if (value === '') continue;
    const codePoints = Uint32Array.from(Array.from(value, (c) => c.codePointAt(0) ?? 0));
    patterns.push(compilePattern(codePoints, 'utf8'));
    if (codePoints.some((cp) => cp >= 0x80) && codePoints.every((cp) => cp <= 0xff)) patterns.push(compilePattern(codePoints, 'latin1'));
  }
  const escapeBytes = patterns.length === 0 ? [] : [PERCENT, BACKSLASH, AMPERSAND];
  if (patterns.some((p) => p.codePoints.includes(0x20))) escapeBytes.push(PLUS);
  const startBytes = new Uint8Array(256);
  for (const b of escapeBytes) startBytes[b] = 1;
  for (const p of patterns) startBytes[p.bytes[0]] = 1;
  const percentFirstBytes = new Uint8Array(256);
  const shortEscapeLetters = new Uint8Array(256);
  const namedReferenceLetters = new Uint8Array(256);
  for (const p of patterns) {
    for (const bytes of p.raw) percentFirstBytes[bytes[0]] = 1;
    for (const cp of p.codePoints) {
      for (const [letter, char] of SHORT_ESCAPES) if (char === cp) shortEscapeLetters[letter] = 1;
      const name = NAMED_REFERENCES.get(cp);
      if (name !== undefined) namedReferenceLetters[name[0]] = 1;
    }
  }
  const needles = [...new Map(patterns.map((p) => [p.bytes.toString('latin1'), p.bytes])).values()].sort((a, b) => b.length - a.length);
  const longest = Math.max(0, ...patterns.map((p) => p.codePoints.length * MAX_CHAR_SPELLING));
  // Every spelling of a character takes at least one byte per character.
  const shortest = patterns.length === 0 ? 0 : Math.min(...patterns.map((p) => p.codePoints.length));
  return Object.freeze({
    patterns: Object.freeze(patterns),
    needles: Object.freeze(needles),
    reach: needles[0]?.length ?? 0,
    escapeBytes: Object.freeze(escapeBytes),
    startBytes,
    percentFirstBytes,
    shortEscapeLetters,
    namedReferenceLetters,
    longest,
    shortest,
  });
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** `%HH` at `i` equal to `byte`: 3, a mismatch: NO_MATCH, cut short: PARTIAL. */
function percentByte(data: Uint8Array, i: number, end: number, byte: number): number {
  if (i >= end) return PARTIAL;
  if (data[i] !== PERCENT) return NO_MATCH;
  if (i + 1 >= end) return PARTIAL;
  const high = hexValue(data[i + 1]);
  if (high === -1 || high !== byte >> 4) return NO_MATCH;
  if (i + 2 >= end) return PARTIAL;
  return hexValue(data[i + 2]) === (byte & 0x0f) ? 3 : NO_MATCH;
}

/** The bytes of one character, each as `%HH`, at `i`. */
function percentSequence(data: Uint8Array, i: number, end: number, bytes: Uint8Array): number {
  let at = i;
  for (const byte of bytes) {
    const r = percentByte(data, at, end, byte);
    if (r <= 0) return r;
    at += r;
  }
  return at - i;
}

/** Compares `bytes` at `i`, folding ASCII letters when `caseless`. */
function rawBytes(data: Uint8Array, i: number, end: number, bytes: Uint8Array, caseless: boolean): number {
  for (let k = 0; k < bytes.length; k++) {
    if (i + k >= end) return PARTIAL;
    const a = data[i + k];
    const b = bytes[k];
    if (a !== b && !(caseless && isAsciiLetter(b) && (a | 0x20) === (b | 0x20))) return NO_MATCH;
  }
  return bytes.length;
}

function isAsciiLetter(b: number): boolean {
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

/** Reads `count` hex digits at `i`: the value, NO_MATCH (-2 encoded) or PARTIAL. */
function hexDigits(data: Uint8Array, i: number, end: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    if (i + k >= end) return PARTIAL;
    const digit = hexValue(data[i + k]);
    if (digit === -1) return -2;
    value = value * 16 + digit;
  }
  return value;
}

/** `\uXXXX` (one UTF-16 unit) at `i` equal to `unit`: 6, NO_MATCH or PARTIAL. */
function unicodeEscape(data: Uint8Array, i: number, end: number, unit: number): number {
  if (i >= end) return PARTIAL;
  if (data[i] !== BACKSLASH) return NO_MATCH;
  if (i + 1 >= end) return PARTIAL;
  if (data[i + 1] !== 0x75 /* u */) return NO_MATCH;
  const value = hexDigits(data, i + 2, end, 4);
  if (value === PARTIAL) return PARTIAL;
  return value === unit ? 6 : NO_MATCH;
}

/** A `\` escape of `cp` at `i` (data[i] is the backslash). */
function backslashEscape(data: Uint8Array, i: number, end: number, cp: number): number {
  if (i + 1 >= end) return PARTIAL;
  const letter = data[i + 1];
  const short = SHORT_ESCAPES.get(letter);
  if (short !== undefined) return short === cp ? 2 : NO_MATCH;
  if (letter === 0x78 /* x */) {
    if (cp > 0xff) return NO_MATCH;
    const value = hexDigits(data, i + 2, end, 2);
    if (value === PARTIAL) return PARTIAL;
    return value === cp ? 4 : NO_MATCH;
  }
  if (letter !== 0x75 /* u */) return NO_MATCH;
  if (cp <= 0xffff) return unicodeEscape(data, i, end, cp);
  const high = 0xd800 + ((cp - 0x10000) >> 10);
  const low = 0xdc00 + ((cp - 0x10000) & 0x3ff);
  const first = unicodeEscape(data, i, end, high);
  if (first <= 0) return first;
  const second = unicodeEscape(data, i + 6, end, low);
  return second <= 0 ? second : 12;
}

/** An HTML character reference of `cp` at `i` (data[i] is the ampersand). */
function characterReference(data: Uint8Array, i: number, end: number, cp: number): number {
  if (i + 1 >= end) return PARTIAL;
  if (data[i + 1] !== HASH) {
    const name = NAMED_REFERENCES.get(cp);
    if (name === undefined) return NO_MATCH;
    const matched = rawBytes(data, i + 1, end, name, false);
    return matched <= 0 ? matched : matched + 1;
  }
  let k = i + 2;
  if (k >= end) return PARTIAL;
  const hex = (data[k] | 0x20) === 0x78; /* x */
  if (hex) k++;
  const digitsStart = k;
  let value = 0;
  // Bounded, so a match never grows past MAX_CHAR_SPELLING bytes (leading zeros included).
  for (; k - i < MAX_CHAR_SPELLING; k++) {
    if (k >= end) return PARTIAL;
    const b = data[k];
    if (b === SEMICOLON) return k > digitsStart && value === cp ? k + 1 - i : NO_MATCH;
    const digit = hex ? hexValue(b) : b >= 0x30 && b <= 0x39 ? b - 0x30 : -1;
    if (digit === -1) return NO_MATCH;
    value = value * (hex ? 16 : 10) + digit;
    if (value > 0x10ffff) return NO_MATCH;
  }
  return NO_MATCH;
}

/** One character of a pattern at `i`, in any spelling: bytes consumed, NO_MATCH or PARTIAL. */
function matchCharacter(pattern: Pattern, k: number, data: Uint8Array, i: number, end: number, caseless: boolean): number {
  const cp = pattern.codePoints[k];
  const b = data[i];
  // Escapes first: when the character itself is '%', '\' or '&', the raw spelling is the fast path's.
  if (b === PERCENT) {
    const r = percentSequence(data, i, end, pattern.raw[k]);
    if (r !== NO_MATCH) return r;
  } else if (b === BACKSLASH) {
    const r = backslashEscape(data, i, end, cp);
    if (r !== NO_MATCH) return r;
  } else if (b === AMPERSAND) {
    const r = characterReference(data, i, end, cp);
    if (r !== NO_MATCH) return r;
  } else if (b === PLUS && cp === 0x20) {
    return 1;
  }
  return rawBytes(data, i, end, pattern.raw[k], caseless);
}

/** The length of a match of `pattern` starting at `start`, NO_MATCH, or PARTIAL. */
function matchAt(pattern: Pattern, data: Uint8Array, start: number, end: number, caseless: boolean): number {
  let i = start;
  const count = pattern.codePoints.length;
  for (let k = 0; k < count; k++) {
    if (i >= end) return PARTIAL;
    const r = matchCharacter(pattern, k, data, i, end, caseless);
    if (r <= 0) return r;
    i += r;
  }
  return i - start;
}

/** The longest match of any pattern at `start`; PARTIAL when one could still complete (unless `final`). */
function bestMatchAt(scrubber: Scrubber, data: Uint8Array, start: number, end: number, final: boolean, caseless: boolean): number {
  let best = NO_MATCH;
  for (const pattern of scrubber.patterns) {
    const r = matchAt(pattern, data, start, end, caseless);
    if (r === PARTIAL) {
      if (!final) return PARTIAL;
    } else if (r > best) {
      best = r;
    }
  }
  return best;
}

/**
 * Whether the escape starting at `e` (a `%`, `\`, `&` or `+`) may spell a character of some
 * secret: true also when the data ends before that can be told. Most escapes in real bodies
 * (`\n` and `\"` in JSON, `&amp;` in HTML, `%20` in URLs) spell characters no secret holds, and
 * a match cannot start near them because of them.
 */
function escapeMayMatch(scrubber: Scrubber, data: Buffer, e: number, end: number): boolean {
  if (e + 1 >= end) return true;
  const next = data[e + 1];
  switch (data[e]) {
    case PERCENT: {
      const high = hexValue(next);
      if (high === -1) return false;
      if (e + 2 >= end) return true;
      const low = hexValue(data[e + 2]);
      return low !== -1 && scrubber.percentFirstBytes[high * 16 + low] === 1;
    }
    case BACKSLASH:
      // `\x` and `\u` are left to the match itself.
      return scrubber.shortEscapeLetters[next] === 1 || next === 0x78 || next === 0x75;
    case AMPERSAND:
      return next === HASH || scrubber.namedReferenceLetters[next] === 1;
    default:
      return true; // `+`, an escape only when a secret holds a space
  }
}

/**
 * Scrubs `data`, pushing the output parts to `out`. Returns the index of the first byte that
 * was not emitted: the start of a match that more bytes could still complete (never when
 * `final`), or `data.length`.
 *
 * Only positions where a match can start are tried, found with native searches (Buffer#indexOf)
 * instead of a JavaScript loop over every byte. A match either spells every character raw, and
 * is then an occurrence of one of the raw needles, or spells some character with an escape, and
 * then the escape of its first such character starts less than `reach` bytes after the match
 * does, and spells a character of a secret. So the positions worth trying are the needles'
 * occurrences, the `reach` bytes up to each escape that may spell a secret's character
 * ({@link escapeMayMatch}), and (unless `final`) the last `reach` bytes, where a raw match may
 * still be completing.
 * The positions are tried in order with the same test as {@link scanEveryPosition}, so the output
 * is the same; the property test in the suite compares the two.
 */
export function scrubInto(scrubber: Scrubber, data: Buffer, final: boolean, out: Buffer[]): number {
  const end = data.length;
  if (scrubber.patterns.length === 0 || end === 0) {
    if (end > 0) out.push(data);
    return end;
  }
  const { needles, escapeBytes, reach } = scrubber;
  const nextEscape = escapeBytes.map((b) => data.indexOf(b));
  const nextNeedle = needles.map((n) => data.indexOf(n));
  const tailStart = final ? end : Math.max(0, end - reach + 1);
  const scan = new Scan(scrubber, data, final, false, out);
  let p = 0; // the first position not yet considered
  while (p < end) {
    // The next stretch [from, to] where a match may start; the earliest wins, the longest on a tie.
    let from = end;
    let to = end;
    for (let i = 0; i < escapeBytes.length; i++) {
      let e = nextEscape[i];
      if (e !== -1 && e < p) e = data.indexOf(escapeBytes[i], p);
      while (e !== -1 && !escapeMayMatch(scrubber, data, e, end)) e = data.indexOf(escapeBytes[i], e + 1);
      nextEscape[i] = e;
      if (e === -1) continue;
      const s = Math.max(p, e - reach + 1);
      if (s < from || (s === from && e > to)) {
        from = s;
        to = e;
      }
    }
    for (let i = 0; i < needles.length; i++) {
      let n = nextNeedle[i];
      if (n !== -1 && n < p) n = nextNeedle[i] = data.indexOf(needles[i], p);
      if (n !== -1 && n < from) {
        from = n;
        to = n;
      }
    }
    if (tailStart < end) {
      const s = Math.max(p, tailStart);
      if (s < from || (s === from && end - 1 > to)) {
        from = s;
        to = end - 1;
      }
    }
    if (from >= end) break;
    p = scan.stretch(from, to);
  }
  return scan.finish();
}

/**
 * The definition {@link scrubInto} is a faster way to compute: every position of `data` is
 * tried in order. Used for header names (`caseless`: ASCII letters match in either case, so any
 * letter may start a match), where values are short.
 */
export function scanEveryPosition(scrubber: Scrubber, data: Buffer, final: boolean, out: Buffer[], caseless: boolean): number {
  const scan = new Scan(scrubber, data, final, caseless, out);
  scan.stretch(0, data.length - 1);
  return scan.finish();
}

/** One scan of `data` into `out`: positions are tried in order, stretch by stretch. */
class Scan {
  /** The first byte not yet emitted. */
  private pos = 0;
  /** Where a match that more bytes could still complete starts; `data.length` while there is none. */
  private hold: number;

  constructor(
    private readonly scrubber: Scrubber,
    private readonly data: Buffer,
    private readonly final: boolean,
    private readonly caseless: boolean,
    private readonly out: Buffer[],
  ) {
    this.hold = data.length;
  }

  /**
   * Tries each position of [from, to] a match can start at (past the last match), emitting
   * what comes before each match and the redaction. Returns the first position left to
   * consider, or `data.length` once a match in progress stopped the scan.
   */
  stretch(from: number, to: number): number {
    const { scrubber, data, final, caseless, out } = this;
    const end = data.length;
    let q = Math.max(from, this.pos);
    for (; q <= to; q++) {
      if (scrubber.startBytes[data[q]] !== 1 && !(caseless && isAsciiLetter(data[q]))) continue;
      const r = bestMatchAt(scrubber, data, q, end, final, caseless);
      if (r === PARTIAL) {
        this.hold = q;
        return end;
      }
      if (r > 0) {
        if (q > this.pos) out.push(data.subarray(this.pos, q));
        out.push(REDACTED_BYTES);
        this.pos = q + r;
        q = this.pos - 1;
      }
    }
    return Math.max(q, this.pos);
  }

  /** Emits the bytes up to the held match (or the end); returns the index of the first byte not emitted. */
  finish(): number {
    if (this.hold > this.pos) this.out.push(this.data.subarray(this.pos, this.hold));
    return Math.max(this.hold, this.pos);
  }
}

/** Scrubs a complete buffer (nothing follows it, so one shorter than any spelling of a secret holds none). */
export function scrubBuffer(scrubber: Scrubber, data: Buffer): Buffer {
  if (scrubber.patterns.length === 0 || data.length < scrubber.shortest) return data;
  const out: Buffer[] = [];
  scrubInto(scrubber, data, true, out);
  return out.length === 1 ? out[0] : Buffer.concat(out);
}

/** True when `name` (a header name as Node hands it over, lower case) contains a secret in any spelling or case. */
export function containsSecretCaseless(scrubber: Scrubber, name: string): boolean {
  if (scrubber.patterns.length === 0 || name.length < scrubber.shortest) return false;
  const data = Buffer.from(name, 'latin1');
  const out: Buffer[] = [];
  scanEveryPosition(scrubber, data, true, out, true);
  return out.some((part) => part === REDACTED_BYTES);
}
