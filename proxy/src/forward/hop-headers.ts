/**
 * Header hygiene at the proxy boundary, in both directions.
 *
 * Requests: the client's proxy token, hop-by-hop headers and proxy-internal headers never
 * reach the upstream. Responses: hop-by-hop headers from the upstream are dropped and it may
 * not speak for the proxy (`x-secure-proxy-*`), so the node can trust that a response with
 * `x-secure-proxy-error` was made by the proxy.
 *
 * `content-length` and `transfer-encoding` are kept on requests on purpose, even though
 * `transfer-encoding` is hop-by-hop: Node's HTTP parser has already de-framed the body it
 * reads (and refuses messages carrying both, or malformed ones), and Node's HTTP client
 * re-frames the streamed body according to exactly these headers (httpxy's smuggling guard
 * reads `transfer-encoding` too). On responses the relay leaves `transfer-encoding` out once
 * the answer is known to be plainly chunked (checked in response-head.ts, left out by the
 * exchange) and lets Node's server frame it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { INTERNAL_HEADER_PREFIX } from '../contract/contract';

/** RFC 9110 §7.6.1 hop-by-hop fields (plus the non-standard ones still in the wild). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization'];

/**
 * Claims about the original client's address (or the host it asked for) that this proxy does
 * not vouch for: an upstream that trusts one (rate limits, allowlists, audit) must not be fooled
 * through us. Every `x-forwarded-*` header goes too (a prefix, below).
 */
export const CLIENT_ADDRESS_HEADERS = [
  'forwarded',
  'x-forwarded',
  'forwarded-for',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-proxyuser-ip',
  'x-azure-clientip',
  'x-azure-socketip',
  'x-appengine-user-ip',
  'x-envoy-external-address',
  'x-original-forwarded-for',
  'x-host',
  'x-original-host',
] as const;

/**
 * Headers that make a framework or gateway take another path than the request line's
 * (IIS/ASP.NET URL rewriting, Symfony, Envoy): the service's path policy was checked on the
 * request line, so the upstream must route by it alone.
 */
export const URL_OVERRIDE_HEADERS = [
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-override-url',
  'x-original-path',
  'x-envoy-original-path',
] as const;

/**
 * Headers that make a framework treat the request as another method (Rails/Rack, Laravel,
 * Express method-override, Google APIs): the service's method policy was checked on the
 * request line.
 */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method'] as const;

/**
 * Prefixes of header families stripped whole: proxy-internal headers, every `x-forwarded-*`
 * claim (host, proto, port, prefix, uri, path…), and `x-envoy-*` controls (retries, timeouts,
 * routing) that an Envoy in front of the API might honour.
 */
const STRIPPED_PREFIXES = [INTERNAL_HEADER_PREFIX, 'x-forwarded-', 'x-envoy-'] as const;

/**
 * Removed from every forwarded request:
 * - `authorization`: carries the client's proxy token; the injector sets the upstream one.
 * - hop-by-hop fields, and `http2-settings` (an h2c upgrade detail).
 * - `expect`: Node's server has already answered `100 Continue` to the client before the
 *   request reached us, so repeating the expectation upstream buys nothing; it also keeps
 *   the upstream request on the path where the response-header timeout is armed.
 * - the client-address, URL-override and method-override families above.
 */
const STRIPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set<string>([
  ...HOP_BY_HOP,
  'authorization',
  'http2-settings',
  'expect',
  ...CLIENT_ADDRESS_HEADERS,
  ...URL_OVERRIDE_HEADERS,
  ...METHOD_OVERRIDE_HEADERS,
]);

const STRIPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Listed in `Connection` or not, these describe the message itself and must stay (see above). */
const FRAMING_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding']);

const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * A header name as CGI, WSGI, Rack and PHP read it: lower case, `_` and `-` the same
 * (`X_Api_Key` and `x-api-key` both become `HTTP_X_API_KEY`).
 */
export function normalizedHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.indexOf('_') === -1 ? lower : lower.replaceAll('_', '-');
}

/** The headers a `Connection` value names (RFC 9110 §7.6.1), except framing ones; null for none. */
function connectionOptions(headers: IncomingHttpHeaders): ReadonlySet<string> | null {
  const value = headers.connection;
  if (value === undefined) return null;
  const list = Array.isArray(value) ? value.join(',') : value;
  if (list.indexOf(',') === -1 && (list === 'keep-alive' || list === 'close')) return null; // the common case
  const names = new Set<string>();
  for (const token of list.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !FRAMING_HEADERS.has(name)) names.add(name);
  }
  return names;
}

function isStrippedRequestHeader(name: string): boolean {
  if (STRIPPED_REQUEST_HEADERS.has(name)) return true;
  const first = name.charCodeAt(0);
  if (first !== 0x78 /* x */) return false;
  for (const prefix of STRIPPED_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * The request's headers without everything the upstream must not see (Node's `req.headers`:
 * lower-case names, one entry per name, so a case-variant duplicate cannot survive), as a new
 * object: deleting from Node's object would turn it into a slow dictionary that the forwarder
 * then copies. A name is judged in its normalised form too ({@link normalizedHeaderName}): an
 * `X_Forwarded_For` or `X-Real_IP` reaches a CGI-style server as the real thing, and an
 * `X_Api_Key` next to an injected `x-api-key` as a second credential, so both are dropped, as
 * are spellings of the framing headers. `injectedNames` are the injection's header names,
 * normalised; the injection sets its own afterwards. `alsoDropped` are further exact names to
 * leave out. The Host header is kept: the upstream layer sets it to the target's host.
 */
export function requestHeadersToForward(
  headers: IncomingHttpHeaders,
  injectedNames: ReadonlySet<string> = NO_NAMES,
  alsoDropped: ReadonlySet<string> = NO_NAMES,
): IncomingHttpHeaders {
  const listed = connectionOptions(headers);
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (isStrippedRequestHeader(name) || injectedNames.has(name) || alsoDropped.has(name) || listed?.has(name) === true) continue;
    if (name.indexOf('_') !== -1) {
      const normal = normalizedHeaderName(name);
      if (isStrippedRequestHeader(normal) || injectedNames.has(normal) || FRAMING_HEADERS.has(normal)) continue;
    }
    kept[name] = headers[name];
  }
  return kept;
}

/**
 * The upstream answer's headers without hop-by-hop ones (and those its `Connection` names), any
 * `x-secure-proxy-*` header and the `alsoDropped` names, as a new object: deleting from Node's
 * object would turn it into a slow dictionary, read again by every later step of the relay.
 */
export function responseHeadersToRelay(headers: IncomingHttpHeaders, alsoDropped: ReadonlySet<string> = NO_NAMES): IncomingHttpHeaders {
  const listed = connectionOptions(headers);
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (STRIPPED_RESPONSE_HEADERS.has(name) || alsoDropped.has(name) || listed?.has(name) === true) continue;
    if (name.charCodeAt(0) === 0x78 /* x */ && name.startsWith(INTERNAL_HEADER_PREFIX)) continue;
    kept[name] = headers[name];
  }
  return kept;
}
