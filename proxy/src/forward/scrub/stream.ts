/**
 * Replaces secret values in bytes with `[REDACTED]`: one matcher ({@link compileScrubber}),
 * used whole for header values and as a streaming Transform for bodies.
 *
 * Matching is on bytes (UTF-8 of each secret), so a multi-byte character can never split a
 * match. The rule is "leftmost match wins, the longest secret when several start at the same
 * byte"; the stream only decides a match once it can see `longest − 1` bytes past its start,
 * so its output is the same as scrubbing the whole body at once, whatever the chunking, and
 * it never holds more than `longest − 1` bytes between chunks.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { secretSpellings } from '../../secrets/spellings';

/** What a secret becomes in relayed response headers and bodies. */
export const REDACTED = '[REDACTED]';
const REDACTED_BYTES = Buffer.from(REDACTED, 'latin1');

/** The secrets of one request, compiled for matching. */
export interface Scrubber {
  /** The byte forms of the secrets, longest first (empty values dropped). */
  readonly needles: readonly Buffer[];
  /** Length of the longest needle (0 when there is nothing to scrub). */
  readonly longest: number;
}

/**
 * The spellings in which an upstream may echo a secret: as sent; JSON-escaped (`"`, `\` and
 * controls as JSON.stringify writes them, plus `/` as `\/`, which PHP and others write); and
 * percent-encoded (a value copied into a URL, a Location or a form body). Without these, a
 * secret holding `"`, `/` or `:` would pass unscrubbed through a JSON, URL or form echo. Not
 * covered: encoders that write non-ASCII as `\uXXXX` (Python's json default) or other
 * re-encodings of the value.
 */
export function echoSpellings(value: string): string[] {
  const { raw, jsonEscaped, percentEncoded } = secretSpellings(value);
  const forms = [raw, jsonEscaped, jsonEscaped.replaceAll('/', '\\/')];
  if (percentEncoded !== null) forms.push(percentEncoded);
  return forms;
}

/**
 * Compiles secret values (as injected, UTF-8) for matching, each in all its
 * {@link echoSpellings}; duplicates and empty values are dropped.
 */
export function compileScrubber(values: readonly string[]): Scrubber {
  const unique = [...new Set(values.flatMap(echoSpellings))].filter((v) => v.length > 0);
  const needles = unique.map((v) => Buffer.from(v, 'utf8')).sort((a, b) => b.length - a.length);
  return Object.freeze({ needles: Object.freeze(needles), longest: needles[0]?.length ?? 0 });
}

/**
 * Scrubs `data`, deciding only matches that start before `decideBefore` (the whole buffer when
 * it equals `data.length`). Returns the output parts and the index of the first byte not yet
 * emitted (matches starting at or after it, and everything after, are left for later).
 */
function scrubUpTo(scrubber: Scrubber, data: Buffer, decideBefore: number, out: Buffer[]): number {
  const { needles } = scrubber;
  const next = needles.map((n) => data.indexOf(n));
  let pos = 0;
  for (;;) {
    let best = -1;
    let bestLength = 0;
    for (let i = 0; i < needles.length; i++) {
      if (next[i] !== -1 && next[i] < pos) next[i] = data.indexOf(needles[i], pos);
      const at = next[i];
      // Longest first: a later needle at the same index is shorter and loses.
      if (at !== -1 && (best === -1 || at < best)) {
        best = at;
        bestLength = needles[i].length;
      }
    }
    if (best === -1 || best >= decideBefore) break;
    if (best > pos) out.push(data.subarray(pos, best));
    out.push(REDACTED_BYTES);
    pos = best + bestLength;
  }
  const safe = Math.max(pos, decideBefore);
  if (safe > pos) out.push(data.subarray(pos, Math.min(safe, data.length)));
  return Math.min(safe, data.length);
}

/** Scrubs a complete buffer. */
export function scrubBuffer(scrubber: Scrubber, data: Buffer): Buffer {
  if (scrubber.longest === 0) return data;
  const out: Buffer[] = [];
  scrubUpTo(scrubber, data, data.length, out);
  return Buffer.concat(out);
}

/** Scrubs a header value (Node hands header values over as latin1 strings, one char per byte). */
export function scrubHeaderValue(scrubber: Scrubber, value: string): string {
  if (scrubber.longest === 0) return value;
  return scrubBuffer(scrubber, Buffer.from(value, 'latin1')).toString('latin1');
}

/** A Transform that scrubs a byte stream; at most `longest − 1` bytes are carried between chunks. */
export class ScrubStream extends Transform {
  private carry: Buffer = Buffer.alloc(0);

  constructor(private readonly scrubber: Scrubber) {
    super();
  }

  /** Bytes held back, waiting for the next chunk (for tests of the bound). */
  get carried(): number {
    return this.carry.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    // A match starting before this index is entirely visible, and so is any longer rival.
    const decideBefore = data.length - (this.scrubber.longest - 1);
    const out: Buffer[] = [];
    const emitted = decideBefore <= 0 ? 0 : scrubUpTo(this.scrubber, data, decideBefore, out);
    this.carry = Buffer.from(data.subarray(emitted)); // copy: do not pin the whole chunk
    if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.carry.length > 0) this.push(scrubBuffer(this.scrubber, this.carry));
    this.carry = Buffer.alloc(0);
    callback();
  }
}
