/**
 * Scrubbing as the relay uses it: a cursor over a body's chunks, and whole-value helpers for
 * the status line and header values. Matching itself lives in matcher.ts.
 */
import { compileScrubber, containsSecretCaseless, REDACTED, scrubBuffer, scrubInto, type Scrubber } from './matcher';

export { compileScrubber, containsSecretCaseless, REDACTED, scrubBuffer, type Scrubber };

const EMPTY = Buffer.alloc(0);

/** Scrubs a header value or reason phrase (Node hands them over as latin1 strings, one char per byte). */
export function scrubHeaderValue(scrubber: Scrubber, value: string): string {
  // Most header values (a type, a length, a date) are shorter than any spelling of a secret: skip the conversion to bytes.
  if (scrubber.patterns.length === 0 || value.length < scrubber.shortest) return value;
  const bytes = Buffer.from(value, 'latin1');
  const scrubbed = scrubBuffer(scrubber, bytes);
  return scrubbed === bytes ? value : scrubbed.toString('latin1');
}

/**
 * Scrubs a byte stream chunk by chunk, without stream machinery: the relay calls it from its
 * own 'data' handler. It holds back only the bytes of a match that the next chunk could
 * complete (never more than the longest possible match minus one byte). An exception from the
 * scan (a bug, not the upstream's doing) reaches the caller, which ends the request with
 * INTERNAL_ERROR, never with unscrubbed bytes.
 */
export class ScrubCursor {
  private carry: Buffer = EMPTY;

  constructor(private readonly scrubber: Scrubber) {}

  /** Bytes held back, waiting for the next chunk (for tests of the bound). */
  get carried(): number {
    return this.carry.length;
  }

  /** The scrubbed bytes that `chunk` settles (often all of it, the same buffer; possibly none). */
  next(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    const data = this.carry.length === 0 ? chunk : this.settleCarry(chunk, out);
    const emitted = scrubInto(this.scrubber, data, false, out);
    // Copy: the held bytes must not pin the whole chunk.
    this.carry = emitted === data.length ? EMPTY : Buffer.from(data.subarray(emitted));
    return out.length === 0 ? EMPTY : out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /**
   * Scans the held bytes together with the start of `chunk`, just enough of it to settle them,
   * and returns what of `chunk` is left to scan. No match is longer than `longest` bytes, so
   * every match that starts in the held bytes ends within that many bytes of the chunk; the
   * scan then stopped past the held bytes, and going on from that byte of the chunk gives what
   * scanning the two joined would. Copying only that much keeps a chunk from being copied whole
   * behind a few held bytes (a chunk ending in a secret's first character would otherwise cost
   * a copy of the next one).
   */
  private settleCarry(chunk: Buffer, out: Buffer[]): Buffer {
    const held = this.carry.length;
    const { longest } = this.scrubber;
    if (chunk.length <= longest) return Buffer.concat([this.carry, chunk]);
    const joint = Buffer.concat([this.carry, chunk.subarray(0, longest)]);
    const settled = scrubInto(this.scrubber, joint, false, out);
    // Unreachable by the bound above; if it ever were, failing beats relaying bytes not scanned as one.
    if (settled < held) throw new Error(`scrubbing left ${held - settled} held bytes unsettled with ${longest} more bytes`);
    return chunk.subarray(settled - held);
  }

  /** The stream ended: the held bytes, scrubbed (empty when none were held). */
  end(): Buffer {
    const last = this.carry.length > 0 ? scrubBuffer(this.scrubber, this.carry) : EMPTY;
    this.carry = EMPTY;
    return last;
  }
}
