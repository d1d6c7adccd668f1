/**
 * The forwarder: one http-proxy-middleware instance and one keep-alive agent per service,
 * created at startup. It sends the request (headers as the exchange left them, the body
 * streamed) and reports what happens to the request's exchange, the {@link UpstreamHandler};
 * the answer is the exchange's to read and relay (see exchange.ts).
 *
 * Facts about http-proxy-middleware 4.2 / httpxy 0.5 this relies on (read their dist code):
 * - `ejectPlugins: true` also drops the plugin that registers `on: {...}` handlers; our
 *   handlers are registered by our own plugin instead (typed for express' req/res).
 * - httpxy emits 'proxyReq' when the socket is assigned, and only for requests without an
 *   `Expect` header (stripped in hop-headers), before any header or body byte is written and
 *   after it registered its one 'response' listener on the upstream request. The exchange
 *   replaces that listener with its own, so httpxy never touches the answer: with
 *   `selfHandleResponse` it would otherwise still destroy the client's response whenever the
 *   upstream answer fails, before the exchange could answer with the contract.
 * - With an 'error' listener, httpxy reports a network error (of the upstream request, or of
 *   the client's request while it streams) by emitting 'error' and resolving; only a response
 *   stream error makes `proxy.web` reject, and then the middleware both emits 'error' and calls
 *   `next(err)`. A client connection reset (ECONNRESET with the client socket gone) is not
 *   reported: httpxy destroys the upstream request, whose 'close' the exchange sees.
 * - The target's path is joined in front of `req.url`. We give it the bare origin and put the
 *   base path into `req.url` ourselves: httpxy's join drops a lone trailing slash
 *   (`/base` + `/` → `/base`), which would make `/forward/svc/` and `/forward/svc` the same
 *   request and loop on the common `/base` → `/base/` redirect.
 * - httpxy forces `Connection: close` upstream when the client's request is chunked (its
 *   request-smuggling guard), so chunked uploads do not reuse upstream sockets.
 * - httpxy destroys the upstream request when the client's response closes before it finished.
 * - A string target is parsed into a URL on every request, twice (hpm's IPv6 literal check and
 *   httpxy's option normalisation); a URL object is used as it is.
 * - Each middleware adds a 'close' listener to the server of its first request and never
 *   removes it; a reload retires forwarders, so `close()` takes it back (server-listeners.ts).
 */
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { HostResolver } from './address-guard';
import { ServerListeners } from './server-listeners';
import { createUpstreamAgent } from './upstream-agent';
import { FREE_SOCKET_TIMEOUT_MS } from '../shared/pooled-connections';

const AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, scheduling: 'lifo' };

/** What the forwarder reports about one request; implemented by the request's exchange. */
export interface UpstreamHandler {
  /** The upstream request got its socket; nothing has been written yet. */
  upstreamRequest(proxyReq: http.ClientRequest): void;
  /** The upstream request (or the client's request body on its way) failed. */
  upstreamError(err: Error): void;
  /** httpxy read an answer itself: only if the exchange did not take over the upstream request's 'response'. */
  unexpectedUpstreamResponse(proxyRes: http.IncomingMessage): void;
  /** The middleware gave up on the request without reporting an error first (or after one). */
  forwarderDeclined(err: unknown): void;
}

/** Options of {@link createUpstream}. */
export interface UpstreamOptions {
  service: string;
  /** Service target URL, possibly with a base path (`https://api.example.com/v2`). */
  target: string;
  /** Agent to use instead of a fresh keep-alive agent (tests, shared pools). */
  agent?: http.Agent;
  /** Let a host-name target resolve to loopback, private or link-local addresses (default false). */
  allowPrivateAddresses?: boolean;
  /** PEM CA bundle the https upstream must chain to (replaces the default roots). */
  ca?: string;
  /** Resolver instead of the system one, for the SSRF guard's tests. */
  resolveHost?: HostResolver;
}

/** One service's forwarder. */
export interface Upstream {
  readonly service: string;
  /** The pooled agent all of this service's upstream requests use. */
  readonly agent: http.Agent;
  /**
   * Sends the request to `<target base><pathAndQuery>` (`pathAndQuery` is '' or starts with
   * '/' or '?'); the request headers must already be cleaned and injected. Everything that
   * happens to it is reported to `handler`, and nothing is ever written to `res` here.
   */
  send(req: Request, res: Response, pathAndQuery: string, handler: UpstreamHandler): void;
  /** Destroys pooled sockets (shutdown, tests). */
  close(): void;
}

const HANDLER = Symbol('secure-proxy.upstream-handler');

/** The response of a request being forwarded carries its handler, so the shared listeners below find it. */
type HandlerCarrier = Response & { [HANDLER]?: UpstreamHandler };

function handlerOf(res: Response | Socket | undefined): UpstreamHandler | undefined {
  return res === undefined ? undefined : (res as HandlerCarrier)[HANDLER];
}

function onProxyReq(proxyReq: http.ClientRequest, _req: Request, res: Response): void {
  const handler = handlerOf(res);
  if (handler === undefined) proxyReq.destroy();
  else handler.upstreamRequest(proxyReq);
}

function onProxyRes(proxyRes: http.IncomingMessage, _req: Request, res: Response): void {
  const handler = handlerOf(res);
  if (handler === undefined) proxyRes.destroy();
  else handler.unexpectedUpstreamResponse(proxyRes);
}

function onError(err: Error, _req: Request | undefined, res: Response | Socket | undefined): void {
  const handler = handlerOf(res);
  if (handler !== undefined) handler.upstreamError(err);
  // Upgrade sockets are never proxied (ws is off); anything else without a handler is cut.
  else if (res !== undefined && !res.destroyed) res.destroy();
}

/** Our listeners, registered on each service's proxy server by this plugin (the `on` option is not read with ejectPlugins). */
const handlers: Plugin<Request, Response> = (proxyServer) => {
  proxyServer.on('proxyReq', onProxyReq);
  proxyServer.on('proxyRes', onProxyRes);
  proxyServer.on('error', onError);
};

/** The base path (no trailing slash) of a target URL, which every forwarded path starts with. */
export function targetBasePath(target: URL): string {
  return target.pathname.endsWith('/') ? target.pathname.slice(0, -1) : target.pathname;
}

/** The request target sent upstream for `pathAndQuery` ('' or starting with '/' or '?') under `basePath`. */
export function requestTarget(basePath: string, pathAndQuery: string): string {
  const path = basePath + pathAndQuery;
  return path === '' ? '/' : path.charCodeAt(0) === 0x3f /* ? */ ? `/${path}` : path;
}

/** Creates a service's forwarder at startup. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const { service } = options;
  const target = new URL(options.target);
  const basePath = targetBasePath(target);
  const agent =
    options.agent ??
    createUpstreamAgent({
      target,
      pool: AGENT_OPTIONS,
      allowPrivateAddresses: options.allowPrivateAddresses === true,
      ca: options.ca,
      resolveHost: options.resolveHost,
    });

  const proxy = createProxyMiddleware<Request, Response>({
    // Parsed once here rather than per request (see above); the same URL object serves every request.
    target: new URL(target.origin),
    changeOrigin: true,
    xfwd: false,
    followRedirects: false,
    agent,
    ejectPlugins: true,
    plugins: [handlers],
    selfHandleResponse: true,
  });
  const serverListeners = new ServerListeners();

  return {
    service,
    agent,
    send(req, res, pathAndQuery, handler) {
      (res as HandlerCarrier)[HANDLER] = handler;
      req.url = requestTarget(basePath, pathAndQuery);
      // hpm calls this after it emitted 'error' (handled above) or, never in practice, when it
      // declined to proxy; the handler answers only if nothing else has.
      const next = (err?: unknown): void => handler.forwarderDeclined(err);
      // The listening server (net.Server sets it on each socket it accepts); see server-listeners.ts.
      const server = (req.socket as Socket & { server?: EventEmitter }).server;
      void serverListeners.run(server, () => proxy(req, res, next).catch(next));
    },
    close() {
      serverListeners.release();
      agent.destroy();
    },
  };
}
