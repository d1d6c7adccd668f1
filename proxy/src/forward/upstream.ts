/**
 * The forwarding stage: one http-proxy-middleware instance and one keep-alive agent per
 * service, created at startup. Bodies are streamed both ways; redirects are relayed, not
 * followed; every failure ends in exactly one response (or a cut connection).
 *
 * Facts about http-proxy-middleware 4.2 / httpxy 0.5 this relies on (read their dist code):
 * - `ejectPlugins: true` also drops the plugin that registers `on: {...}` handlers: with
 *   `on` alone no handler would run and nothing would answer a failed request. Our handlers
 *   are registered by our own plugin instead (typed for express' req/res).
 * - With an 'error' listener, httpxy reports a network error by emitting 'error' and resolving;
 *   only a response stream error makes `proxy.web` reject, and then the middleware both emits
 *   'error' and calls `next(err)`. The error handler answers; `afterProxy` only answers when
 *   nothing has been written yet, so the response is written once.
 * - The target's path is joined in front of `req.url`. We give it the bare origin and put the
 *   base path into `req.url` ourselves: httpxy's join drops a lone trailing slash
 *   (`/base` + `/` → `/base`), which would make `/forward/svc/` and `/forward/svc` the same
 *   request and loop on the common `/base` → `/base/` redirect.
 * - httpxy emits 'proxyReq' when the socket is assigned and only for requests without an
 *   `Expect` header (stripped in hop-headers), before any header or body byte is written.
 * - httpxy forces `Connection: close` upstream when the client's request is chunked (its
 *   request-smuggling guard), so chunked uploads do not reuse upstream sockets.
 * - With `selfHandleResponse` (services that scrub) httpxy emits 'proxyRes' and then only wires
 *   teardown (client gone → upstream destroyed, upstream cut → client cut); status, headers and
 *   body are ours to write, which {@link relayScrubbed} does.
 */
import http from 'node:http';
import { pipeline } from 'node:stream';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import { ProxyError, refuse } from '../contract/proxy-error';
import { contextOf } from '../app/request-context';
import { UpstreamAddressForbiddenError, type HostResolver } from './address-guard';
import { UpstreamBodyIdleError, watchBodyIdle } from './body-idle';
import { stripResponseHeaders } from './hop-headers';
import { compileLocationRewriter } from './location';
import { decoderFor, isTextContentType } from './scrub/policy';
import { compileScrubber, ScrubStream, scrubHeaderValue, type Scrubber } from './scrub/stream';
import { tlsFailureCode } from '../shared/tls-failure';
import { createUpstreamAgent } from './upstream-agent';

/**
 * How long an idle pooled upstream socket is kept. Node shortens it to the upstream's
 * `Keep-Alive: timeout=N` hint minus a second, but only when an agent timeout is set at all.
 * Servers that close idle connections without a hint (uvicorn 5 s, gunicorn 2 s) would race
 * a longer value; under load sockets never idle this long, so the pool stays warm.
 */
export const FREE_SOCKET_TIMEOUT_MS = 4_000;

const AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, scheduling: 'lifo' };

/** The upstream sent no response headers within the service's `timeoutMs`. */
export class UpstreamHeaderTimeoutError extends Error {
  readonly code = 'ERR_UPSTREAM_HEADER_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`no response headers within ${timeoutMs} ms`);
    this.name = 'UpstreamHeaderTimeoutError';
  }
}

/** Options of {@link createUpstream}. */
export interface UpstreamOptions {
  service: string;
  /** Service target URL, possibly with a base path (`https://api.example.com/v2`). */
  target: string;
  /**
   * Time allowed for the upstream to send response headers (connecting included), and then
   * the longest silence allowed between body bytes.
   */
  timeoutMs: number;
  /** External proxy URL for rewritten Location headers. */
  publicUrl?: string;
  /** Agent to use instead of a fresh keep-alive agent (tests, shared pools). */
  agent?: http.Agent;
  /** Replace the injected secret values in response headers and text bodies (default true). */
  scrub?: boolean;
  /** Let a host-name target resolve to loopback, private or link-local addresses (default false). */
  allowPrivateAddresses?: boolean;
  /** PEM CA bundle the https upstream must chain to (replaces the default roots). */
  ca?: string;
  /** Resolver instead of the system one, for the SSRF guard's tests. */
  resolveHost?: HostResolver;
}

/** One service's forwarding stage. */
export interface Upstream {
  readonly service: string;
  /** The pooled agent all of this service's upstream requests use. */
  readonly agent: http.Agent;
  /**
   * Forwards the request to `<target base><pathAndQuery>` (`pathAndQuery` is '' or starts with
   * '/' or '?'), relays the response, and writes exactly one response on failure. The request
   * headers must already be cleaned and injected. `secretValues` are the values injected into
   * this request (scrubbed from the response when the service scrubs). Aborting `signal`
   * destroys the upstream request; whoever aborts owns the answer to the client.
   */
  forward(req: Request, res: Response, pathAndQuery: string, secretValues?: readonly string[], signal?: AbortSignal): void;
  /** Destroys pooled sockets (shutdown, tests). */
  close(): void;
}

function isResponse(res: Response | Socket): res is Response {
  return typeof (res as Response).setHeader === 'function';
}

function errorCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : err.name;
}

/** Compiled scrubbers per injected value list (injections are memoized, so the list is too). */
const scrubberCache = new WeakMap<readonly string[], Scrubber>();

function scrubberFor(values: readonly string[]): Scrubber {
  let scrubber = scrubberCache.get(values);
  if (scrubber === undefined) {
    scrubber = compileScrubber(values);
    scrubberCache.set(values, scrubber);
  }
  return scrubber;
}

/** Replaces secret values in every response header value, Set-Cookie arrays included. */
function scrubHeaders(headers: http.IncomingHttpHeaders, scrubber: Scrubber): void {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') headers[name] = scrubHeaderValue(scrubber, value);
    else if (Array.isArray(value)) headers[name] = value.map((v) => scrubHeaderValue(scrubber, v));
  }
}

function hasNoBody(req: Request, status: number): boolean {
  return req.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Writes a self-handled upstream response: scrubbed status line and headers, then the body —
 * text bodies decoded (gzip/deflate/br) and scrubbed, without `content-length`; binary bodies
 * as they are.
 * A text body in an encoding we cannot decode is refused (UPSTREAM_UNSCRUBBABLE), never relayed.
 */
function relayScrubbed(proxyRes: http.IncomingMessage, req: Request, res: Response, scrubber: Scrubber, service: string): void {
  if (res.headersSent || res.destroyed) {
    // Another stage answered first (a refusal racing the upstream's headers): setting headers now
    // would throw inside the upstream socket's event handler. That answer stands; drop this one.
    proxyRes.destroy();
    if (!res.writableEnded && !res.destroyed) res.destroy();
    return;
  }
  const headers = proxyRes.headers;
  const status = proxyRes.statusCode ?? 502;
  scrubHeaders(headers, scrubber);
  // Node frames what we write itself (chunked, or close-delimited for HTTP/1.0 clients).
  delete headers['transfer-encoding'];
  const scrubBody = !hasNoBody(req, status) && isTextContentType(headers['content-type']);
  let decoder = null;
  if (scrubBody) {
    decoder = decoderFor(headers['content-encoding']);
    if (decoder === undefined) {
      proxyRes.destroy();
      refuse(
        res,
        new ProxyError(
          'UPSTREAM_UNSCRUBBABLE',
          `The upstream of service '${service}' answered with a text body in content-encoding '${headers['content-encoding']}', which the proxy cannot scrub of secrets.`,
        ),
      );
      return;
    }
    if (decoder !== null) delete headers['content-encoding'];
    delete headers['content-length'];
  }
  res.statusCode = status;
  // The reason phrase is upstream text on the status line: an API may quote the credential there too.
  if (proxyRes.statusMessage && req.httpVersionMajor < 2) res.statusMessage = scrubHeaderValue(scrubber, proxyRes.statusMessage);
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  const done = (err: NodeJS.ErrnoException | null): void => {
    if (err && !res.destroyed) res.destroy();
  };
  if (!scrubBody) pipeline(proxyRes, res, done);
  else if (decoder === null) pipeline(proxyRes, new ScrubStream(scrubber), res, done);
  else pipeline(proxyRes, decoder, new ScrubStream(scrubber), res, done);
}

/** The contract error for a failed upstream request that has not answered yet. */
function upstreamFailure(service: string, timeoutMs: number, err: Error): ProxyError {
  if (err instanceof UpstreamHeaderTimeoutError) {
    return new ProxyError('UPSTREAM_TIMEOUT', `The upstream of service '${service}' sent no response headers within ${timeoutMs} ms.`, { cause: err });
  }
  if (err instanceof UpstreamBodyIdleError) {
    // Headers had arrived, but nothing of them reached the client yet (the scrubber held the first bytes).
    return new ProxyError('UPSTREAM_TIMEOUT', `The upstream of service '${service}' went silent mid-body: ${err.message}.`, { cause: err });
  }
  if (err instanceof UpstreamAddressForbiddenError) {
    // Nothing was sent: the SSRF guard refused the address before the socket connected.
    const remedy = err.allowable
      ? 'Set allowPrivateAddresses: true on the service if this address is intended.'
      : 'Cloud metadata endpoints are never reached through a host name.';
    return new ProxyError('UPSTREAM_ADDRESS_FORBIDDEN', `The proxy did not connect to the upstream of service '${service}': its ${err.message}. ${remedy}`, {
      cause: err,
    });
  }
  const tlsCode = tlsFailureCode(err);
  if (tlsCode !== null) {
    return new ProxyError(
      'UPSTREAM_TLS_FAILED',
      `The TLS connection to the upstream of service '${service}' failed: its certificate could not be verified or the handshake was refused (${tlsCode}).`,
      { cause: err },
    );
  }
  return new ProxyError('UPSTREAM_UNREACHABLE', `The upstream of service '${service}' could not be reached or dropped the connection (${errorCode(err)}).`, {
    cause: err,
  });
}

function abortOnHeaderTimeout(proxyReq: http.ClientRequest, timeoutMs: number): void {
  proxyReq.destroy(new UpstreamHeaderTimeoutError(timeoutMs));
}

/** Creates a service's forwarding stage at startup. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const { service, timeoutMs } = options;
  const target = new URL(options.target);
  const basePath = target.pathname.endsWith('/') ? target.pathname.slice(0, -1) : target.pathname;
  const agent =
    options.agent ??
    createUpstreamAgent({
      target,
      pool: AGENT_OPTIONS,
      allowPrivateAddresses: options.allowPrivateAddresses === true,
      ca: options.ca,
      resolveHost: options.resolveHost,
    });
  const rewriteLocation = compileLocationRewriter({ service, target: options.target, publicUrl: options.publicUrl });
  const scrub = options.scrub ?? true;
  /** The scrubber of each in-flight request of a scrubbing service. */
  const scrubbers = new WeakMap<Response, Scrubber>();
  /** The abort signal of each in-flight request that has one (the body stage's). */
  const abortSignals = new WeakMap<Response, AbortSignal>();

  function onProxyReq(proxyReq: http.ClientRequest, _req: Request, res: Response): void {
    const started = performance.now();
    const timer = setTimeout(abortOnHeaderTimeout, timeoutMs, proxyReq, timeoutMs);
    proxyReq.once('response', (proxyRes: http.IncomingMessage) => {
      clearTimeout(timer);
      contextOf(res).upstreamMs = performance.now() - started;
      // The same bound then applies to silence between body bytes (nginx's proxy_read_timeout).
      watchBodyIdle(proxyRes, timeoutMs, () => {
        const ctx = contextOf(res);
        ctx.errorCode = 'UPSTREAM_TIMEOUT';
        ctx.errorSource = 'upstream';
      });
    });
    const signal = abortSignals.get(res);
    let abort: (() => void) | null = null;
    if (signal !== undefined && !signal.aborted) {
      abort = () => {
        proxyReq.destroy();
      };
      signal.addEventListener('abort', abort, { once: true });
    }
    // Errors, client aborts, timeouts and aborts of the body stage all end in 'close'.
    proxyReq.once('close', () => {
      clearTimeout(timer);
      if (abort !== null) signal?.removeEventListener('abort', abort);
    });
    if (signal?.aborted === true) proxyReq.destroy();
  }

  function onProxyRes(proxyRes: http.IncomingMessage, req: Request, res: Response): void {
    const headers = proxyRes.headers;
    stripResponseHeaders(headers);
    // httpxy fills an absent Connection from the (cleaned) request, i.e. always keep-alive;
    // answer what the client asked for so a `Connection: close` client is not kept open.
    headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
    const location = headers.location;
    if (location !== undefined) headers.location = rewriteLocation(location);
    // Relayed headers are copied onto the response after this: ours must win.
    headers['x-request-id'] = contextOf(res).requestId;
    if (scrub) relayScrubbed(proxyRes, req, res, scrubbers.get(res) ?? compileScrubber([]), service);
  }

  function onError(err: Error, req: Request | undefined, res: Response | Socket | undefined): void {
    if (req === undefined || res === undefined) return; // emitted without a request: nothing to answer
    if (!isResponse(res)) {
      res.destroy(); // upgrade sockets: not proxied (ws is off), cut defensively
      return;
    }
    if (abortSignals.get(res)?.aborted === true) return; // aborted on purpose: the aborting stage answers
    if (res.headersSent || res.destroyed || req.errored) {
      // The answer had started (or the client is gone): all that is left is to cut it.
      if (!res.destroyed) res.destroy();
      return;
    }
    refuse(res, upstreamFailure(service, timeoutMs, err));
  }

  const handlers: Plugin<Request, Response> = (proxyServer) => {
    proxyServer.on('proxyReq', onProxyReq);
    proxyServer.on('proxyRes', onProxyRes);
    proxyServer.on('error', onError);
  };

  const proxy = createProxyMiddleware<Request, Response>({
    target: target.origin,
    changeOrigin: true,
    xfwd: false,
    followRedirects: false,
    agent,
    ejectPlugins: true,
    plugins: [handlers],
    selfHandleResponse: scrub,
  });

  return {
    service,
    agent,
    forward(req, res, pathAndQuery, secretValues = [], signal) {
      if (signal !== undefined) abortSignals.set(res, signal);
      if (scrub) {
        scrubbers.set(res, scrubberFor(secretValues));
        // Plain bytes are scrubbable; a compressed answer is still decoded if it comes anyway.
        req.headers['accept-encoding'] = 'identity';
      }
      const path = basePath + pathAndQuery;
      req.url = path === '' ? '/' : path.charCodeAt(0) === 0x3f /* ? */ ? `/${path}` : path;
      // hpm calls this after it emitted 'error' (handled above) or, never in practice, when it
      // declined to proxy; answer only if nothing was written.
      const afterProxy = (err?: unknown): void => {
        if (res.headersSent || res.destroyed) return;
        if (err === undefined) refuse(res, new ProxyError('INTERNAL_ERROR', 'The forwarding stage declined the request.'));
        else refuse(res, new ProxyError('UPSTREAM_UNREACHABLE', `The upstream of service '${service}' failed.`, { cause: err }));
      };
      proxy(req, res, afterProxy).catch((err: unknown) => {
        // Only reachable if a handler above threw: never leave the request hanging, and say so.
        if (!res.destroyed) res.destroy();
        const name = err instanceof Error ? err.name : typeof err;
        process.emitWarning(`forwarding to service '${service}' failed unexpectedly (${name})`, { code: 'SECURE_PROXY_FORWARD' });
      });
    },
    close() {
      agent.destroy();
    },
  };
}
