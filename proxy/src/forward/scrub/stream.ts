/**
 * Scrubbing as the relay uses it: a streaming Transform for bodies, and whole-value helpers
 * for the status line and header values. Matching itself lives in matcher.ts.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { compileScrubber, containsSecretCaseless, REDACTED, scrubBuffer, scrubInto, type Scrubber } from './matcher';

export { compileScrubber, containsSecretCaseless, REDACTED, scrubBuffer, type Scrubber };

const EMPTY = Buffer.alloc(0);

/** The scrubber itself failed (a bug, not the upstream's doing): the relay ends with INTERNAL_ERROR, never with unscrubbed bytes. */
export class ScrubFailure extends Error {
  readonly code = 'ERR_SCRUB_FAILED';
  constructor(cause: unknown) {
    super('scrubbing the response body failed', { cause });
    this.name = 'ScrubFailure';
  }
}

/** Scrubs a header value or reason phrase (Node hands them over as latin1 strings, one char per byte). */
export function scrubHeaderValue(scrubber: Scrubber, value: string): string {
  // Most header values (a type, a length, a date) are shorter than any spelling of a secret: skip the conversion to bytes.
  if (scrubber.patterns.length === 0 || value.length < scrubber.shortest) return value;
  const bytes = Buffer.from(value, 'latin1');
  const scrubbed = scrubBuffer(scrubber, bytes);
  return scrubbed === bytes ? value : scrubbed.toString('latin1');
}

/**
 * A Transform that scrubs a byte stream. It holds back only the bytes of a match that the
 * next chunk could complete (never more than the longest possible match minus one byte).
 */
export class ScrubStream extends Transform {
  private carry: Buffer = EMPTY;

  constructor(private readonly scrubber: Scrubber) {
    super();
  }

  /** Bytes held back, waiting for the next chunk (for tests of the bound). */
  get carried(): number {
    return this.carry.length;
  }

  // Node does not catch what _transform throws: it would surface inside the upstream socket's
  // 'data' event, outside any request. A failure is this stream's error instead.
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let out: Buffer[];
    try {
      const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
      out = [];
      const emitted = scrubInto(this.scrubber, data, false, out);
      // Copy: the held bytes must not pin the whole chunk.
      this.carry = emitted === data.length ? EMPTY : Buffer.from(data.subarray(emitted));
    } catch (err) {
      callback(new ScrubFailure(err));
      return;
    }
    if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    let last: Buffer;
    try {
      last = this.carry.length > 0 ? scrubBuffer(this.scrubber, this.carry) : EMPTY;
    } catch (err) {
      callback(new ScrubFailure(err));
      return;
    }
    this.carry = EMPTY;
    if (last.length > 0) this.push(last);
    callback();
  }
}
