/**
 * Checks a long body made of one pattern repeated, chunk by chunk, without holding the body.
 * Used by the streaming tests and by the bench's large-body check (which imports it as a `.ts`
 * file under Node's type stripping: this module has no imports and only erasable syntax).
 */

/** Index in `chunk` of the first byte that differs from `pattern` repeated, `chunk` starting at stream offset `offset`; null when none does. */
export function firstMismatch(chunk: Buffer, pattern: Buffer, offset: number): number | null {
  for (let i = 0; i < chunk.length; ) {
    const at = (offset + i) % pattern.length;
    const n = Math.min(pattern.length - at, chunk.length - i);
    if (!chunk.subarray(i, i + n).equals(pattern.subarray(at, at + n))) {
      for (let j = 0; j < n; j++) if (chunk[i + j] !== pattern[at + j]) return i + j;
    }
    i += n;
  }
  return null;
}
