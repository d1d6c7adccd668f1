/**
 * Which upstream response bodies are scrubbed, and how to get at their bytes: text types are
 * (JSON, XML, HTML, JavaScript, forms, `text/*`, and bodies without a content type, which may
 * be anything); binary types pass byte for byte, because a secret is text the upstream echoes
 * into text, and rewriting bytes of an image or archive would corrupt it.
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

const TEXT_MARKERS = ['json', 'xml', 'javascript', 'x-www-form-urlencoded', 'html'];

/** True when a body of this content type is scrubbed. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.toLowerCase().split(';', 1)[0].trim();
  if (type === '') return true;
  return type.startsWith('text/') || TEXT_MARKERS.some((m) => type.includes(m));
}

/**
 * The decoder that turns a body of this `content-encoding` into plain bytes: `null` for
 * none/identity, a fresh zlib stream for gzip/deflate/br, `undefined` for anything else
 * (which cannot be scrubbed and must not be relayed).
 */
export function decoderFor(contentEncoding: string | undefined): Transform | null | undefined {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  switch (coding) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}
