/**
 * The upstream's status line and headers on their way to the client: first checked (can they
 * be relayed faithfully at all?), then prepared (hop-by-hop headers out, Location rewritten,
 * secrets scrubbed).
 *
 * Node's HTTP client accepts answers its server side refuses to write: a status code below
 * 100, control characters in the reason phrase, a `101` without `Upgrade`. Relaying one as it
 * is throws inside a socket event and takes the process down; relaying it changed would not
 * be faithful. Such an answer becomes UPSTREAM_RESPONSE_INVALID instead, and no byte of it
 * reaches the client.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { responseHeadersToRelay } from './hop-headers';
import { containsSecretCaseless, scrubHeaderValue, type Scrubber } from './scrub/stream';

/** What Node refuses to write in a header value or reason phrase (anything but TAB, visible ASCII and obs-text). */
const INVALID_FIELD_CHARS = /[^\t\x20-\x7e\x80-\xff]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Why an upstream head cannot be relayed: a stable key for the audit log and a sentence for the client. */
export interface HeadProblem {
  detail: string;
  message: string;
}

/**
 * Returns why this head cannot be relayed faithfully, or null. The message never quotes the
 * upstream's bytes: they may hold the very secret being protected.
 */
export function headProblem(res: IncomingMessage): HeadProblem | null {
  const status = res.statusCode ?? 0;
  if (status === 101) {
    return { detail: 'switching-protocols', message: 'answered 101 Switching Protocols to a request that asked for no protocol switch' };
  }
  if (!Number.isInteger(status) || status < 200 || status > 999) {
    return { detail: 'status-code', message: `answered with status code ${status}, which is not a final HTTP status (200-999)` };
  }
  if (res.httpVersionMajor !== 1) return { detail: 'http-version', message: 'answered in a version of HTTP other than 1.x' };
  if (INVALID_FIELD_CHARS.test(res.statusMessage ?? '')) {
    return { detail: 'reason-phrase', message: 'answered with a control character in its reason phrase' };
  }
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!TOKEN.test(raw[i]) || INVALID_FIELD_CHARS.test(raw[i + 1])) {
      return { detail: 'header-field', message: 'answered with a header field Node cannot relay (invalid name or control character in its value)' };
    }
  }
  const coding = res.headers['transfer-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') {
    return { detail: 'transfer-coding', message: 'answered with a transfer-coding other than chunked, which the proxy does not relay' };
  }
  return null;
}

/** True when an answer to this request method with this status has no body (RFC 9110 §6.4.1). */
export function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304;
}

/** What {@link prepareHead} needs of the service and the request. */
export interface HeadPreparation {
  /** Rewrites a Location inside the service target to the proxy's own URL. */
  rewriteLocation: (location: string) => string;
  /** The request's scrubber, or null when the service does not scrub. */
  scrubber: Scrubber | null;
  /**
   * Further headers the relay leaves out: always `transfer-encoding` (Node frames what it
   * writes) and the upstream's request id (the response carries the proxy's own); for a body
   * the proxy changes, its length and, once decoded, its coding.
   */
  dropped: ReadonlySet<string>;
}

/**
 * The upstream's headers as the client gets them, a new object (Node's is left as parsed):
 * hop-by-hop and `x-secure-proxy-*` headers out, the `dropped` ones out, Location rewritten.
 * `Connection` is Node's to write: it knows whether this connection stays open (and says for
 * how long in `Keep-Alive`). With a scrubber, every value is scrubbed (Location before and
 * after its rewrite, so the form that leaves is the form checked) and a header whose name holds
 * a secret is dropped whole.
 */
export function prepareHead(upstream: IncomingHttpHeaders, how: HeadPreparation): IncomingHttpHeaders {
  const headers = responseHeadersToRelay(upstream, how.dropped);
  const { scrubber } = how;
  if (scrubber !== null && scrubber.patterns.length > 0) {
    for (const name of Object.keys(headers)) {
      if (containsSecretCaseless(scrubber, name)) {
        delete headers[name];
        continue;
      }
      const value = headers[name];
      if (typeof value === 'string') headers[name] = scrubHeaderValue(scrubber, value);
      else if (Array.isArray(value)) headers[name] = value.map((v) => scrubHeaderValue(scrubber, v));
    }
  }
  const location = headers.location;
  if (location !== undefined) {
    const rewritten = how.rewriteLocation(location);
    headers.location = scrubber === null ? rewritten : scrubHeaderValue(scrubber, rewritten);
  }
  return headers;
}
