/**
 * Header hygiene at the proxy boundary, in both directions.
 *
 * Requests: the client's proxy token, hop-by-hop headers and proxy-internal headers never
 * reach the upstream. Responses: hop-by-hop headers from the upstream are dropped and it may
 * not speak for the proxy (`x-secure-proxy-*`), so the node can trust that a response with
 * `x-secure-proxy-error` was made by the proxy.
 *
 * `content-length` and `transfer-encoding` are kept on purpose, even though
 * `transfer-encoding` is hop-by-hop: Node's HTTP parser has already de-framed the body it
 * reads (and refuses messages carrying both, or malformed ones), and Node's HTTP client or
 * server re-frames the streamed body according to exactly these headers. Dropping them
 * would make Node pick a framing on its own (chunked) and lose the length the client or
 * upstream declared; keeping them is how a body is streamed through without buffering.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { INTERNAL_HEADER_PREFIX } from '../contract/contract';

/** RFC 9110 §7.6.1 hop-by-hop fields (plus the non-standard ones still in the wild). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization'];

/**
 * Removed from every forwarded request:
 * - `authorization`: carries the client's proxy token; the injector sets the upstream one.
 * - hop-by-hop fields, and `http2-settings` (an h2c upgrade detail).
 * - `expect`: Node's server has already answered `100 Continue` to the client before the
 *   request reached us, so repeating the expectation upstream buys nothing; it also keeps
 *   the upstream request on the path where the response-header timeout is armed.
 * - `forwarded`, `x-forwarded-*`, `x-real-ip`: client-supplied claims about the original
 *   client that this proxy does not vouch for (and it adds none itself: xfwd is off), so an
 *   upstream that trusts them cannot be fooled through us.
 */
const STRIPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'authorization', 'http2-settings', 'expect', 'forwarded', 'x-real-ip']);

const STRIPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Listed in `Connection` or not, these describe the message itself and must stay (see above). */
const FRAMING_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding']);

const FORWARDED_PREFIX = 'x-forwarded-';

/** Deletes every header named in a `Connection` value (RFC 9110 §7.6.1), except framing ones. */
function deleteConnectionOptions(headers: IncomingHttpHeaders): void {
  const value = headers.connection;
  if (value === undefined) return;
  const list = Array.isArray(value) ? value.join(',') : value;
  if (list.indexOf(',') === -1 && (list === 'keep-alive' || list === 'close')) return; // the common case
  for (const token of list.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !FRAMING_HEADERS.has(name)) delete headers[name];
  }
}

/**
 * Removes, in place, everything the upstream must not see from a request's headers (Node's
 * `req.headers`: lower-case names, one entry per name, so a case-variant duplicate cannot
 * survive). The Host header is left alone: the upstream layer sets it to the target's host.
 */
export function stripRequestHeaders(headers: IncomingHttpHeaders): void {
  deleteConnectionOptions(headers);
  for (const name in headers) {
    if (
      STRIPPED_REQUEST_HEADERS.has(name) ||
      (name.charCodeAt(0) === 0x78 /* x */ && (name.startsWith(INTERNAL_HEADER_PREFIX) || name.startsWith(FORWARDED_PREFIX)))
    ) {
      delete headers[name];
    }
  }
}

/**
 * Removes, in place, hop-by-hop headers (and those the upstream's `Connection` names) and any
 * `x-secure-proxy-*` header from an upstream response's headers before they are relayed.
 */
export function stripResponseHeaders(headers: IncomingHttpHeaders): void {
  deleteConnectionOptions(headers);
  for (const name in headers) {
    if (STRIPPED_RESPONSE_HEADERS.has(name) || (name.charCodeAt(0) === 0x78 /* x */ && name.startsWith(INTERNAL_HEADER_PREFIX))) {
      delete headers[name];
    }
  }
}
