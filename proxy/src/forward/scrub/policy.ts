/**
 * Which upstream response bodies are scrubbed, and how to get at their bytes. Every body is,
 * whatever its type (a secret echoed into YAML, `message/http`, `multipart/*` or a debug dump
 * is as exposed as one in JSON), unless the service's admin names its content type in
 * `scrubSkipContentTypes`: a large binary download, say, that is relayed byte for byte.
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

/** A `type/subtype` as it may appear before the parameters of a Content-Type, lower case. */
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** Decides from a response's Content-Type whether its body is scrubbed. */
export type BodyScrubDecision = (contentType: string | undefined) => boolean;

const SCRUB_ALL: BodyScrubDecision = () => true;

/**
 * Compiles a service's `scrubSkipContentTypes` (validated, lower-case media types or `type/*`). A body
 * without a content type, or with one that does not parse, is always scrubbed.
 */
export function compileBodyScrubDecision(skip: readonly string[] | undefined): BodyScrubDecision {
  if (skip === undefined || skip.length === 0) return SCRUB_ALL;
  const exact = new Set<string>();
  const wholeTypes = new Set<string>();
  for (const entry of skip) {
    const lower = entry.toLowerCase();
    if (lower.endsWith('/*')) wholeTypes.add(lower.slice(0, -2));
    else exact.add(lower);
  }
  return (contentType) => {
    if (contentType === undefined) return true;
    const type = contentType.split(';', 1)[0].trim().toLowerCase();
    if (!MEDIA_TYPE.test(type)) return true;
    return !exact.has(type) && !wholeTypes.has(type.slice(0, type.indexOf('/')));
  };
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
